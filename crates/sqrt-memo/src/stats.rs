//! Counters of what the engine did, for tests, benches and dashboards.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::metrics::MemoMetrics;

/// Live counters (relaxed atomics: totals, not a consistent snapshot).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub computations: AtomicU64,
    pub hits: AtomicU64,
    pub near_hits: AtomicU64,
    pub misses: AtomicU64,
    pub waits: AtomicU64,
    pub corrupt: AtomicU64,
    pub store_errors: AtomicU64,
    /// The same events as OpenTelemetry metrics.
    pub metrics: MemoMetrics,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> MemoStats {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MemoStats {
            computations: read(&self.computations),
            hits: read(&self.hits),
            near_hits: read(&self.near_hits),
            misses: read(&self.misses),
            waits: read(&self.waits),
            corrupt: read(&self.corrupt),
            store_errors: read(&self.store_errors),
        }
    }
}

/// Totals since the engine was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoStats {
    /// Square roots actually computed by this engine.
    pub computations: u64,
    /// Results served from memcached.
    pub hits: u64,
    /// Results served from the in-process near cache.
    pub near_hits: u64,
    /// Lookups that found nothing usable.
    pub misses: u64,
    /// Calls that waited for another process's computation.
    pub waits: u64,
    /// Stored values rejected (checksum, format, failed verification,
    /// missing chunk).
    pub corrupt: u64,
    /// memcached operations that failed.
    pub store_errors: u64,
}
