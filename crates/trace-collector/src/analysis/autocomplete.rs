//! Zipkin's `/api/v2/autocompleteKeys` and `/api/v2/autocompleteValues`:
//! the operator picks which tag keys the UI may suggest values for, and the
//! values are the distinct ones among the held spans.

use std::collections::BTreeSet;

use crate::model::Span;

/// Tag keys offered for autocomplete when none are configured: low-cardinality
/// keys that the demo and common OpenTelemetry instrumentation write.
pub const DEFAULT_AUTOCOMPLETE_KEYS: &[&str] = &[
    "db.system",
    "db.operation",
    "error",
    "http.method",
    "http.status_code",
    "otel.status_code",
    "peer.service",
    "sqrt.source",
];

/// Distinct values of tag `key` among `spans`, sorted; empty when `key` is
/// not one of the configured `keys` (as the spec asks).
pub fn autocomplete_values<'a>(
    spans: impl Iterator<Item = &'a Span>,
    keys: &[String],
    key: &str,
) -> Vec<String> {
    if !keys.iter().any(|k| k == key) {
        return Vec::new();
    }
    let values: BTreeSet<&str> = spans
        .filter_map(|s| s.tags.get(key).map(String::as_str))
        .collect();
    values.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged(key: &str, value: &str) -> Span {
        let mut span = Span::default();
        span.tags.insert(key.into(), value.into());
        span
    }

    #[test]
    fn values_are_distinct_sorted_and_only_for_configured_keys() {
        let spans = [
            tagged("db.system", "redis"),
            tagged("db.system", "memcached"),
            tagged("db.system", "redis"),
            tagged("secret", "x"),
        ];
        let keys = vec!["db.system".to_owned()];
        assert_eq!(
            autocomplete_values(spans.iter(), &keys, "db.system"),
            vec!["memcached", "redis"]
        );
        assert!(autocomplete_values(spans.iter(), &keys, "secret").is_empty());
    }
}
