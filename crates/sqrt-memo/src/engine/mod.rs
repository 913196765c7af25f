//! `SqrtMemo`: square roots memoized in memcached with distributed single
//! flight.
//!
//! One call: optional near cache, then a loop of vivifying lookups
//! (`mg <key> v c N<ttl>`). A usable value is a hit; the `W` flag means this
//! caller computes and stores (with the CAS of the placeholder); `Z`/`X`
//! mean someone else is computing, so the caller polls with backoff until
//! the value appears or `max_wait` passes, then computes itself. A value that
//! fails its checks is invalidated (`md I`), which makes the next lookup hand
//! out a fresh win, so even the overwrite is single-flight.

mod outcome;
mod steps;

use std::time::{Duration, Instant};

use rug::Integer;
use tracing::field::Empty;
use tracing::{info_span, Instrument, Span};

use crate::arith::check_limits;
use crate::chunk::delete_chunks;
use crate::config::MemoConfig;
use crate::error::{ArithmeticError, MemoError};
use crate::key::MemoKey;
use crate::near_cache::NearCache;
use crate::parse::CanonicalDecimal;
use crate::stats::{Counters, MemoStats};
use crate::store::MemoStore;
use crate::value::{self, Decoded, StoredValue};

pub use outcome::{Source, SqrtOutcome};
use steps::{record_source, Lookup};

/// The memoizing square-root engine over a [`MemoStore`].
pub struct SqrtMemo<S> {
    store: S,
    config: MemoConfig,
    counters: Counters,
    near: Option<NearCache>,
}

impl<S: MemoStore> SqrtMemo<S> {
    /// An engine storing through `store`.
    pub fn new(store: S, config: MemoConfig) -> Self {
        let near = config.near_cache.and_then(NearCache::new);
        SqrtMemo {
            store,
            config,
            counters: Counters::default(),
            near,
        }
    }

    /// The store this engine uses.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &MemoConfig {
        &self.config
    }

    /// Counters since creation (computations, hits, waits, corrupt values...).
    pub fn stats(&self) -> MemoStats {
        self.counters.snapshot()
    }

    /// [`SqrtMemo::sqrt`] of decimal text (see [`CanonicalDecimal::parse`]).
    /// Parsing is a base conversion (tens of milliseconds at a million
    /// digits); callers holding an `Integer` should pass it instead.
    pub async fn sqrt_text(&self, text: &str, digits: u32) -> Result<SqrtOutcome, MemoError> {
        let limits = &self.config.limits;
        // Both limits before the text is converted.
        if digits > limits.max_digits {
            return Err(ArithmeticError::TooManyDigits {
                requested: u64::from(digits),
                limit: limits.max_digits,
            }
            .into());
        }
        let n = CanonicalDecimal::parse_within(text, limits)?.to_integer();
        self.sqrt(&n, digits).await
    }

    /// `sqrt(n)` truncated to `digits` fractional digits, from the cache when
    /// possible, computed at most once across processes sharing memcached.
    pub async fn sqrt(&self, n: &Integer, digits: u32) -> Result<SqrtOutcome, MemoError> {
        check_limits(n, digits, &self.config.limits)?;
        let key = MemoKey::for_integer(n, digits).ok_or(ArithmeticError::Negative)?;
        self.sqrt_keyed(n, &key, digits).await
    }

    /// Removes the cached result for `(n, digits)` and its chunks; `Ok(true)`
    /// when the main entry existed.
    pub async fn forget(&self, n: &Integer, digits: u32) -> Result<bool, MemoError> {
        let key = MemoKey::for_integer(n, digits).ok_or(ArithmeticError::Negative)?;
        let span = info_span!(
            "sqrt.forget",
            "sqrt.digits" = i64::from(digits),
            "sqrt.chunks" = Empty
        );
        async {
            if let Some(near) = &self.near {
                near.remove(&key);
            }
            let item = self.store.meta_get(key.as_str(), None).await?;
            if let Some(bytes) = item.value {
                let rules = self.decode_rules(&key, digits);
                if let Ok(Decoded {
                    value: StoredValue::Manifest(manifest),
                    ..
                }) = value::decode(&bytes, &rules)
                {
                    Span::current().record("sqrt.chunks", i64::from(manifest.chunk_count));
                    delete_chunks(&self.store, &key, &manifest).await?;
                }
            }
            Ok(self.store.meta_delete(key.as_str(), None).await?)
        }
        .instrument(span)
        .await
    }

    async fn sqrt_keyed(
        &self,
        n: &Integer,
        key: &MemoKey,
        digits: u32,
    ) -> Result<SqrtOutcome, MemoError> {
        let span = info_span!(
            "sqrt.memo",
            "sqrt.number.bits" = i64::from(n.significant_bits()),
            "sqrt.digits" = i64::from(digits),
            "sqrt.key.hashed" = key.is_hashed(),
            "sqrt.hit" = Empty,
            "sqrt.source" = Empty,
            "sqrt.source.trace_id" = Empty,
            "sqrt.source.span_id" = Empty,
            "sqrt.waited" = Empty,
            "sqrt.corrupt" = Empty,
            "sqrt.corrupt.reason" = Empty,
            "sqrt.store.error" = Empty,
        );
        let outcome = self
            .resolve(n, key, digits)
            .instrument(span.clone())
            .await?;
        span.record("sqrt.source", outcome.source.as_str());
        self.counters.metrics.lookup(outcome.source);
        span.record("sqrt.hit", outcome.source.is_hit());
        if outcome.source.is_hit() {
            record_source(&span, &outcome.computed_by);
        }
        Ok(outcome)
    }

    async fn resolve(
        &self,
        n: &Integer,
        key: &MemoKey,
        digits: u32,
    ) -> Result<SqrtOutcome, MemoError> {
        let near = self
            .near
            .as_ref()
            .filter(|c| c.admits(n.significant_bits()));
        if let Some((root, computed_by)) = near.and_then(|c| c.get(key)) {
            Counters::bump(&self.counters.near_hits);
            return Ok(SqrtOutcome {
                root,
                source: Source::NearCache,
                computed_by,
            });
        }
        let outcome = self.resolve_shared(n, key, digits).await?;
        if let Some(cache) = near {
            cache.put(key, &outcome.root, outcome.computed_by);
        }
        Ok(outcome)
    }

    async fn resolve_shared(
        &self,
        n: &Integer,
        key: &MemoKey,
        digits: u32,
    ) -> Result<SqrtOutcome, MemoError> {
        let started = Instant::now();
        let mut waited = false;
        let mut rejections = 0u32;
        let mut backoff = self.config.poll_initial;
        loop {
            let lookup = match self.lookup(key, n, digits).await {
                Ok(lookup) => lookup,
                Err(e) => return self.compute_uncached(n, digits, e).await,
            };
            match lookup {
                Lookup::Hit(stored) => {
                    Counters::bump(&self.counters.hits);
                    return Ok(SqrtOutcome {
                        root: stored.root,
                        source: if waited {
                            Source::HitAfterWait
                        } else {
                            Source::Hit
                        },
                        computed_by: stored.source,
                    });
                }
                Lookup::Won { cas } => {
                    Counters::bump(&self.counters.misses);
                    let source = if waited {
                        Source::ComputedAfterWait
                    } else {
                        Source::Computed
                    };
                    return self.compute_and_store(n, key, digits, cas, source).await;
                }
                Lookup::Rejected { reason, cas } => {
                    Counters::bump(&self.counters.corrupt);
                    self.counters.metrics.rejected(&reason);
                    let span = Span::current();
                    span.record("sqrt.corrupt", true);
                    span.record("sqrt.corrupt.reason", reason.to_string().as_str());
                    rejections += 1;
                    if rejections > self.config.max_corrupt_retries {
                        Counters::bump(&self.counters.misses);
                        return self
                            .compute_and_store(n, key, digits, None, Source::ComputedAfterWait)
                            .await;
                    }
                    // Stale, not deleted: the next vivifying lookup hands
                    // exactly one caller the win to overwrite it.
                    if let Err(e) = self
                        .store
                        .meta_invalidate(key.as_str(), cas, self.config.vivify_ttl)
                        .await
                    {
                        return self.compute_uncached(n, digits, e).await;
                    }
                }
                Lookup::Wait => {
                    if !waited {
                        waited = true;
                        Counters::bump(&self.counters.waits);
                        Span::current().record("sqrt.waited", true);
                    }
                    let elapsed = started.elapsed();
                    if elapsed >= self.config.max_wait {
                        Counters::bump(&self.counters.misses);
                        return self
                            .compute_and_store(n, key, digits, None, Source::ComputedAfterWait)
                            .await;
                    }
                    let remaining = self.config.max_wait - elapsed;
                    tokio::time::sleep(backoff.min(remaining)).await;
                    backoff = (backoff * 2)
                        .min(self.config.poll_max)
                        .max(Duration::from_millis(1));
                }
            }
        }
    }
}
