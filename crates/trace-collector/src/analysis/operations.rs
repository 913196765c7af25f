//! Per-operation latency statistics (what Cloud Trace's analysis reports and
//! Jaeger's monitor tab show): for each service and span name, the number of
//! spans, how many failed, latency percentiles and a latency histogram.

use std::collections::BTreeMap;

use serde::Serialize;

use super::TimeWindow;
use crate::model::Span;

/// Number of histogram buckets per operation.
pub const HISTOGRAM_BUCKETS: usize = 20;

/// Service name used for spans that carry none (as the viewer shows them).
pub const UNKNOWN_SERVICE: &str = "unknown";

/// Latency statistics of one operation (service and span name).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationStats {
    /// Local service of the spans.
    pub service_name: String,
    /// Span name (empty for unnamed spans).
    pub span_name: String,
    /// Spans with a duration.
    pub count: u64,
    /// Of those, spans carrying Zipkin's `error` tag.
    pub error_count: u64,
    /// Fastest duration, microseconds.
    pub min: u64,
    /// Slowest duration, microseconds.
    pub max: u64,
    /// Median duration (nearest rank), microseconds.
    pub p50: u64,
    /// 95th percentile duration (nearest rank), microseconds.
    pub p95: u64,
    /// 99th percentile duration (nearest rank), microseconds.
    pub p99: u64,
    /// Counts over log-spaced duration ranges from `min` to `max`.
    pub histogram: Vec<Bucket>,
}

/// One histogram bar: spans whose duration lies in `[from, to)` (the last
/// bucket includes `to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Lower edge, microseconds.
    pub from: u64,
    /// Upper edge, microseconds.
    pub to: u64,
    /// Spans in the range.
    pub count: u64,
}

/// Statistics for every operation among `spans` that start inside `window`
/// (and belong to `service`, when given; case-insensitive), sorted by
/// service, then span name. Spans without a duration are not counted.
pub fn operation_stats<'a>(
    spans: impl Iterator<Item = &'a Span>,
    service: Option<&str>,
    window: TimeWindow,
) -> Vec<OperationStats> {
    let mut groups: BTreeMap<(&str, &str), (Vec<u64>, u64)> = BTreeMap::new();
    for span in spans {
        let Some(duration) = span.duration else {
            continue;
        };
        if !window.contains(span.timestamp) || service.is_some_and(|s| !span.has_service(s)) {
            continue;
        }
        let key = (
            span.service_name().unwrap_or(UNKNOWN_SERVICE),
            span.name.as_deref().unwrap_or(""),
        );
        let group = groups.entry(key).or_default();
        group.0.push(duration);
        group.1 += u64::from(span.is_error());
    }
    groups
        .into_iter()
        .map(|((service_name, span_name), (mut durations, errors))| {
            durations.sort_unstable();
            OperationStats {
                service_name: service_name.to_owned(),
                span_name: span_name.to_owned(),
                count: durations.len() as u64,
                error_count: errors,
                min: durations[0],
                max: durations[durations.len() - 1],
                p50: percentile(&durations, 50),
                p95: percentile(&durations, 95),
                p99: percentile(&durations, 99),
                histogram: histogram(&durations),
            }
        })
        .collect()
}

/// Nearest-rank percentile of sorted, non-empty `values`: the smallest value
/// with at least `p` percent of the values at or below it.
pub fn percentile(sorted: &[u64], p: u64) -> u64 {
    let n = sorted.len() as u64;
    let rank = (p * n).div_ceil(100).max(1);
    sorted[(rank - 1) as usize]
}

/// Log-spaced buckets (latency spans orders of magnitude) over sorted,
/// non-empty `values`.
fn histogram(sorted: &[u64]) -> Vec<Bucket> {
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    if min == max {
        return vec![Bucket {
            from: min,
            to: max,
            count: sorted.len() as u64,
        }];
    }
    let low = (min.max(1)) as f64;
    let ratio = (max as f64 / low).ln();
    let edge = |i: usize| -> u64 {
        match i {
            0 => min,
            i if i == HISTOGRAM_BUCKETS => max,
            i => (low * (ratio * i as f64 / HISTOGRAM_BUCKETS as f64).exp()).round() as u64,
        }
    };
    let mut buckets: Vec<Bucket> = (0..HISTOGRAM_BUCKETS)
        .map(|i| Bucket {
            from: edge(i),
            to: edge(i + 1),
            count: 0,
        })
        .collect();
    for &value in sorted {
        // The first bucket whose upper edge lies above the value; the last takes the max.
        let at = buckets
            .partition_point(|b| b.to <= value)
            .min(HISTOGRAM_BUCKETS - 1);
        buckets[at].count += 1;
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Endpoint;

    fn span(service: &str, name: &str, duration: u64, error: bool) -> Span {
        let mut span = Span {
            name: Some(name.into()),
            duration: Some(duration),
            timestamp: Some(5_000_000),
            local_endpoint: Some(Endpoint {
                service_name: Some(service.into()),
                ..Endpoint::default()
            }),
            ..Span::default()
        };
        if error {
            span.tags.insert("error".into(), "boom".into());
        }
        span
    }

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50), 50);
        assert_eq!(percentile(&values, 95), 95);
        assert_eq!(percentile(&values, 99), 99);
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[1, 2, 3], 50), 2);
    }

    #[test]
    fn groups_by_service_and_name_with_errors_and_histogram() {
        let mut spans: Vec<Span> = (1..=200)
            .map(|d| span("app", "get", d * 10, d % 50 == 0))
            .collect();
        spans.push(span("db", "get", 5, false));
        spans.push(span("app", "untimed", 0, false));
        spans.last_mut().unwrap().duration = None;
        let stats = operation_stats(spans.iter(), None, TimeWindow::ALL);
        assert_eq!(stats.len(), 2);
        let get = &stats[0];
        assert_eq!(
            (get.service_name.as_str(), get.span_name.as_str()),
            ("app", "get")
        );
        assert_eq!((get.count, get.error_count), (200, 4));
        assert_eq!((get.min, get.max), (10, 2000));
        assert_eq!((get.p50, get.p95, get.p99), (1000, 1900, 1980));
        assert_eq!(get.histogram.len(), HISTOGRAM_BUCKETS);
        assert_eq!(get.histogram.iter().map(|b| b.count).sum::<u64>(), 200);
        assert_eq!(
            (
                get.histogram[0].from,
                get.histogram[HISTOGRAM_BUCKETS - 1].to
            ),
            (10, 2000)
        );
        assert!(get.histogram.windows(2).all(|w| w[0].to == w[1].from));
        let db = &stats[1];
        assert_eq!(
            (db.count, db.histogram.len(), db.histogram[0].count),
            (1, 1, 1)
        );
        let only_db = operation_stats(spans.iter(), Some("DB"), TimeWindow::ALL);
        assert_eq!(only_db.len(), 1);
    }
}
