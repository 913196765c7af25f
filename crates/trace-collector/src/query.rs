//! Trace search criteria, mirroring the parameters of Zipkin's `GET /api/v2/traces`.
//!
//! A trace matches when one of its spans satisfies the service, span-name and
//! duration criteria together, its start lies in the `[endTs - lookback, endTs]`
//! window, and every `annotationQuery` term is satisfied by some span.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::model::Span;

/// Zipkin's default search window: one day.
pub const DEFAULT_LOOKBACK_MS: u64 = 86_400_000;
/// Zipkin's default number of traces returned.
pub const DEFAULT_LIMIT: usize = 10;

/// Now, in the milliseconds of `endTs` and `lookback` (0 if the clock is
/// before the epoch).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What `/api/v2/traces` was asked for. Names compare case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceQuery {
    /// Only traces with a span of this service.
    pub service_name: Option<String>,
    /// Only traces with a span of this name.
    pub span_name: Option<String>,
    /// Microseconds, inclusive.
    pub min_duration: Option<u64>,
    /// Microseconds, inclusive.
    pub max_duration: Option<u64>,
    /// Milliseconds since the Unix epoch; the window's upper edge.
    pub end_ts_ms: u64,
    /// Milliseconds before `end_ts_ms` that the window covers.
    pub lookback_ms: u64,
    /// At most this many traces, newest first.
    pub limit: usize,
    /// Zipkin syntax: terms joined by ` and `, each `key` or `key=value`.
    pub annotation_query: Option<String>,
}

impl TraceQuery {
    /// Everything in the default window ending at `end_ts_ms`.
    pub fn ending_at(end_ts_ms: u64) -> TraceQuery {
        TraceQuery {
            service_name: None,
            span_name: None,
            min_duration: None,
            max_duration: None,
            end_ts_ms,
            lookback_ms: DEFAULT_LOOKBACK_MS,
            limit: DEFAULT_LIMIT,
            annotation_query: None,
        }
    }

    /// Whether a trace (all of its spans) satisfies the criteria.
    pub fn matches(&self, spans: &[Span]) -> bool {
        self.in_window(spans)
            && spans.iter().any(|s| self.span_matches(s))
            && self
                .annotation_terms()
                .all(|term| spans.iter().any(|s| self.term_matches(&term, s)))
    }

    fn in_window(&self, spans: &[Span]) -> bool {
        let Some(start) = trace_start(spans) else {
            // Spans without timestamps cannot be placed in time; show them anyway.
            return true;
        };
        let end_us = self.end_ts_ms.saturating_mul(1000);
        let from_us = end_us.saturating_sub(self.lookback_ms.saturating_mul(1000));
        start >= from_us && start <= end_us
    }

    fn span_matches(&self, span: &Span) -> bool {
        let service_ok = self.service_ok(span);
        let name_ok = self.span_name.as_deref().is_none_or(|want| {
            span.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(want))
        });
        let duration = span.duration.unwrap_or(0);
        let min_ok = self.min_duration.is_none_or(|min| duration >= min);
        let max_ok = self.max_duration.is_none_or(|max| duration <= max);
        service_ok && name_ok && min_ok && max_ok
    }

    fn service_ok(&self, span: &Span) -> bool {
        self.service_name
            .as_deref()
            .is_none_or(|want| span.has_service(want))
    }

    fn annotation_terms(&self) -> impl Iterator<Item = AnnotationTerm<'_>> {
        self.annotation_query
            .as_deref()
            .unwrap_or("")
            .split(" and ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| match t.split_once('=') {
                Some((k, v)) => AnnotationTerm {
                    key: k.trim(),
                    value: Some(v.trim()),
                },
                None => AnnotationTerm {
                    key: t,
                    value: None,
                },
            })
    }

    fn term_matches(&self, term: &AnnotationTerm<'_>, span: &Span) -> bool {
        if !self.service_ok(span) {
            return false;
        }
        match term.value {
            Some(v) => span.tags.get(term.key).is_some_and(|t| t == v),
            None => {
                span.tags.contains_key(term.key)
                    || span.annotations.iter().any(|a| a.value == term.key)
            }
        }
    }
}

struct AnnotationTerm<'a> {
    key: &'a str,
    value: Option<&'a str>,
}

/// Earliest span start in microseconds, if any span has a timestamp.
pub fn trace_start(spans: &[Span]) -> Option<u64> {
    spans.iter().filter_map(|s| s.timestamp).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Endpoint;
    use std::collections::BTreeMap;

    fn span(service: &str, name: &str, ts_us: u64, dur: u64) -> Span {
        Span {
            trace_id: "0000000000000001".into(),
            id: "0000000000000002".into(),
            name: Some(name.into()),
            timestamp: Some(ts_us),
            duration: Some(dur),
            local_endpoint: Some(Endpoint {
                service_name: Some(service.into()),
                ..Endpoint::default()
            }),
            tags: BTreeMap::from([("db.system".to_string(), "memcached".to_string())]),
            ..Span::default()
        }
    }

    const NOW_MS: u64 = 1_700_000_000_000;

    #[test]
    fn service_and_name_must_hold_on_the_same_span() {
        let trace = vec![
            span("app", "root", NOW_MS * 1000, 10),
            span("db", "get", NOW_MS * 1000, 5),
        ];
        let mut q = TraceQuery::ending_at(NOW_MS);
        q.service_name = Some("APP".into());
        assert!(q.matches(&trace));
        q.span_name = Some("get".into());
        assert!(!q.matches(&trace), "get belongs to db, not app");
        q.service_name = Some("db".into());
        assert!(q.matches(&trace));
    }

    #[test]
    fn durations_and_window_filter() {
        let trace = vec![span("app", "root", (NOW_MS - 5_000) * 1000, 2_000)];
        let mut q = TraceQuery::ending_at(NOW_MS);
        q.min_duration = Some(2_000);
        assert!(q.matches(&trace));
        q.min_duration = Some(2_001);
        assert!(!q.matches(&trace));
        q.min_duration = None;
        q.max_duration = Some(1_999);
        assert!(!q.matches(&trace));
        q.max_duration = None;
        q.lookback_ms = 4_000;
        assert!(!q.matches(&trace), "started 5 s before endTs");
        q.lookback_ms = 6_000;
        assert!(q.matches(&trace));
        q.end_ts_ms = NOW_MS - 6_000;
        assert!(!q.matches(&trace), "started after endTs");
    }

    #[test]
    fn annotation_query_terms() {
        let trace = vec![span("app", "root", NOW_MS * 1000, 10)];
        let mut q = TraceQuery::ending_at(NOW_MS);
        q.annotation_query = Some("db.system=memcached".into());
        assert!(q.matches(&trace));
        q.annotation_query = Some("db.system and error".into());
        assert!(!q.matches(&trace));
        q.annotation_query = Some("db.system=redis".into());
        assert!(!q.matches(&trace));
    }
}
