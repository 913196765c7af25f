//! On-demand analysis of the held spans: tag-value autocomplete, service
//! dependency links and per-operation latency statistics.
//!
//! Everything here is computed by scanning the bounded [`Store`] when asked,
//! so the analyses keep no index of their own and add nothing to the
//! collector's steady-state memory.
//!
//! [`Store`]: crate::store::Store

pub mod autocomplete;
pub mod cache_metrics;
pub mod dependencies;
pub mod operations;
pub(crate) mod routes;

pub use autocomplete::{autocomplete_values, DEFAULT_AUTOCOMPLETE_KEYS};
pub use cache_metrics::CacheMetrics;
pub use dependencies::{dependency_links, DependencyLink};
pub use operations::{operation_stats, Bucket, OperationStats};

use std::collections::HashMap;

use crate::model::Span;

/// The `[endTs - lookback, endTs]` window of Zipkin's `/dependencies`, in
/// milliseconds since the Unix epoch; bounds are inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// Upper edge, milliseconds since the Unix epoch.
    pub end_ts_ms: u64,
    /// How far back from `end_ts_ms` the window reaches, milliseconds.
    pub lookback_ms: u64,
}

impl TimeWindow {
    /// The window that holds every span (from the epoch to the far future).
    pub const ALL: TimeWindow = TimeWindow {
        end_ts_ms: u64::MAX,
        lookback_ms: u64::MAX,
    };

    /// Whether a span starting at `timestamp_us` (microseconds) lies inside.
    /// A span without a timestamp cannot be placed and counts as inside.
    pub fn contains(&self, timestamp_us: Option<u64>) -> bool {
        let Some(ts) = timestamp_us else { return true };
        let end_us = self.end_ts_ms.saturating_mul(1000);
        let from_us = end_us.saturating_sub(self.lookback_ms.saturating_mul(1000));
        ts >= from_us && ts <= end_us
    }
}

/// Groups spans into one list per trace, in order of first appearance.
/// [`Store::spans`] yields them trace by trace, so the common case costs one
/// comparison per span; interleaved input is still grouped correctly.
///
/// [`Store::spans`]: crate::store::Store::spans
pub fn by_trace<'a>(spans: impl Iterator<Item = &'a Span>) -> Vec<Vec<&'a Span>> {
    let mut traces: Vec<Vec<&Span>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut current: Option<usize> = None;
    for span in spans {
        let same = current.is_some_and(|at| traces[at][0].trace_id == span.trace_id);
        if !same {
            let at = *index.entry(span.trace_id.as_str()).or_insert_with(|| {
                traces.push(Vec::new());
                traces.len() - 1
            });
            current = Some(at);
        }
        if let Some(at) = current {
            traces[at].push(span);
        }
    }
    traces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace: &str) -> Span {
        Span {
            trace_id: trace.into(),
            ..Span::default()
        }
    }

    #[test]
    fn by_trace_groups_runs_and_interleaved_spans() {
        let spans = [span("a"), span("a"), span("b"), span("a"), span("c")];
        let groups: Vec<(String, usize)> = by_trace(spans.iter())
            .into_iter()
            .map(|g| (g[0].trace_id.clone(), g.len()))
            .collect();
        assert_eq!(groups, [("a".into(), 3), ("b".into(), 1), ("c".into(), 1)]);
    }

    #[test]
    fn window_bounds_are_inclusive_and_untimed_spans_count() {
        let window = TimeWindow {
            end_ts_ms: 10,
            lookback_ms: 4,
        };
        assert!(window.contains(Some(6_000)) && window.contains(Some(10_000)));
        assert!(!window.contains(Some(5_999)) && !window.contains(Some(10_001)));
        assert!(window.contains(None));
        assert!(TimeWindow::ALL.contains(Some(u64::MAX)));
    }
}
