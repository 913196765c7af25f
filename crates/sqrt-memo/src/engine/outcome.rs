//! What a memoized square root call returns: the root and where it came
//! from.

use crate::arith::ExactSqrt;
use crate::trace_context::TraceContext;

/// Where a result came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Found in memcached on the first lookup.
    Hit,
    /// Found in memcached after waiting for another caller to compute it.
    HitAfterWait,
    /// Found in the in-process near cache.
    NearCache,
    /// This caller won the single flight and computed it.
    Computed,
    /// This caller waited for another's computation past `max_wait`, or
    /// gave up on a corrupt value, and computed it itself.
    ComputedAfterWait,
    /// memcached failed; computed without the cache (`fail_open`).
    ComputedUncached,
}

impl Source {
    /// Whether this call ran the computation.
    pub fn computed(self) -> bool {
        matches!(
            self,
            Source::Computed | Source::ComputedAfterWait | Source::ComputedUncached
        )
    }

    /// Whether the result came from a cache.
    pub fn is_hit(self) -> bool {
        !self.computed()
    }

    /// Stable lower-case name, as recorded in `sqrt.source`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Hit => "hit",
            Source::HitAfterWait => "hit_after_wait",
            Source::NearCache => "near_cache",
            Source::Computed => "computed",
            Source::ComputedAfterWait => "computed_after_wait",
            Source::ComputedUncached => "computed_uncached",
        }
    }
}

/// The answer of [`SqrtMemo::sqrt`](crate::SqrtMemo::sqrt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqrtOutcome {
    /// The root, exact and truncated to the digits asked for.
    pub root: ExactSqrt,
    /// Where it came from.
    pub source: Source,
    /// The span that computed it (zeros when unknown).
    pub computed_by: TraceContext,
}
