//! On-demand analysis of the held spans: tag-value autocomplete, service
//! dependency links and per-operation latency statistics.
//!
//! Everything here is computed by scanning the bounded [`Store`] when asked,
//! so the analyses keep no index of their own and add nothing to the
//! collector's steady-state memory.
//!
//! [`Store`]: crate::store::Store

pub mod autocomplete;
pub mod dependencies;
pub mod operations;
pub(crate) mod routes;

pub use autocomplete::{autocomplete_values, DEFAULT_AUTOCOMPLETE_KEYS};
pub use dependencies::{dependency_links, DependencyLink};
pub use operations::{operation_stats, Bucket, OperationStats};

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

/// Groups spans that arrive trace by trace (as [`Store::spans`] yields
/// them) into one slice per trace.
///
/// [`Store::spans`]: crate::store::Store::spans
pub fn by_trace<'a>(spans: impl Iterator<Item = &'a Span>) -> Vec<Vec<&'a Span>> {
    let mut traces: Vec<Vec<&Span>> = Vec::new();
    for span in spans {
        match traces.last_mut() {
            Some(trace) if trace[0].trace_id == span.trace_id => trace.push(span),
            _ => traces.push(vec![span]),
        }
    }
    traces
}
