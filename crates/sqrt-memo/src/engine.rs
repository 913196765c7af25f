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

use std::time::{Duration, Instant};

use rug::Integer;
use tracing::field::Empty;
use tracing::{info_span, Instrument, Span};

use crate::arith::{sqrt_decimal, ExactSqrt};
use crate::chunk::{delete_chunks, read_chunks, write_value};
use crate::config::MemoConfig;
use crate::error::{ArithmeticError, MemoError, StoreError};
use crate::key::MemoKey;
use crate::near_cache::NearCache;
use crate::parse::CanonicalDecimal;
use crate::rejection::Rejection;
use crate::stats::{Counters, MemoStats};
use crate::store::{MemoStore, SetStatus};
use crate::trace_context::TraceContext;
use crate::value::{self, StoredRoot, StoredValue};

/// Numbers above this many bits are computed and verified on tokio's
/// blocking pool, so a huge root does not stall the async workers.
const BLOCKING_THRESHOLD_BITS: u32 = 1 << 17;

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

/// The answer of [`SqrtMemo::sqrt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqrtOutcome {
    /// The root, exact and truncated to the digits asked for.
    pub root: ExactSqrt,
    /// Where it came from.
    pub source: Source,
    /// The span that computed it (zeros when unknown).
    pub computed_by: TraceContext,
}

/// What one lookup found.
enum Lookup {
    Hit(StoredRoot),
    Won { cas: Option<u64> },
    Wait,
    Rejected { reason: Rejection, cas: Option<u64> },
}

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
    pub async fn sqrt_text(&self, text: &str, digits: u32) -> Result<SqrtOutcome, MemoError> {
        let canonical = CanonicalDecimal::parse(text)?;
        let n = canonical.to_integer();
        self.sqrt_canonical(&n, &canonical, digits).await
    }

    /// `sqrt(n)` truncated to `digits` fractional digits, from the cache when
    /// possible, computed at most once across processes sharing memcached.
    pub async fn sqrt(&self, n: &Integer, digits: u32) -> Result<SqrtOutcome, MemoError> {
        let canonical = CanonicalDecimal::from_integer(n).ok_or(ArithmeticError::Negative)?;
        self.sqrt_canonical(n, &canonical, digits).await
    }

    /// Removes the cached result for `(n, digits)` and its chunks; `Ok(true)`
    /// when the main entry existed.
    pub async fn forget(&self, n: &Integer, digits: u32) -> Result<bool, MemoError> {
        let canonical = CanonicalDecimal::from_integer(n).ok_or(ArithmeticError::Negative)?;
        let key = MemoKey::new(&canonical, digits);
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
                if let Ok(StoredValue::Manifest(manifest)) = value::decode(&bytes, digits) {
                    Span::current().record("sqrt.chunks", i64::from(manifest.chunk_count));
                    delete_chunks(&self.store, &key, &manifest).await?;
                }
            }
            Ok(self.store.meta_delete(key.as_str(), None).await?)
        }
        .instrument(span)
        .await
    }

    async fn sqrt_canonical(
        &self,
        n: &Integer,
        canonical: &CanonicalDecimal,
        digits: u32,
    ) -> Result<SqrtOutcome, MemoError> {
        let key = MemoKey::new(canonical, digits);
        let span = info_span!(
            "sqrt.memo",
            "sqrt.number.bits" = i64::from(n.significant_bits()),
            "sqrt.number.decimal_digits" = attr(canonical.digit_count()),
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
            .resolve(n, canonical, &key, digits)
            .instrument(span.clone())
            .await?;
        span.record("sqrt.source", outcome.source.as_str());
        span.record("sqrt.hit", outcome.source.is_hit());
        if outcome.source.is_hit() {
            record_source(&span, &outcome.computed_by);
        }
        Ok(outcome)
    }

    async fn resolve(
        &self,
        n: &Integer,
        canonical: &CanonicalDecimal,
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
        let outcome = self.resolve_shared(n, canonical, key, digits).await?;
        if let Some(cache) = near {
            cache.put(key, &outcome.root, outcome.computed_by);
        }
        Ok(outcome)
    }

    async fn resolve_shared(
        &self,
        n: &Integer,
        canonical: &CanonicalDecimal,
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
                Err(e) => return self.compute_uncached(n, canonical, digits, e).await,
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
                    return self
                        .compute_and_store(n, canonical, key, digits, cas, source)
                        .await;
                }
                Lookup::Rejected { reason, cas } => {
                    Counters::bump(&self.counters.corrupt);
                    let span = Span::current();
                    span.record("sqrt.corrupt", true);
                    span.record("sqrt.corrupt.reason", reason.to_string().as_str());
                    rejections += 1;
                    if rejections > self.config.max_corrupt_retries {
                        Counters::bump(&self.counters.misses);
                        return self
                            .compute_and_store(
                                n,
                                canonical,
                                key,
                                digits,
                                None,
                                Source::ComputedAfterWait,
                            )
                            .await;
                    }
                    // Stale, not deleted: the next vivifying lookup hands
                    // exactly one caller the win to overwrite it.
                    if let Err(e) = self
                        .store
                        .meta_invalidate(key.as_str(), cas, self.config.vivify_ttl)
                        .await
                    {
                        return self.compute_uncached(n, canonical, digits, e).await;
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
                            .compute_and_store(
                                n,
                                canonical,
                                key,
                                digits,
                                None,
                                Source::ComputedAfterWait,
                            )
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

    /// One vivifying lookup, under the `sqrt.lookup` span.
    async fn lookup(&self, key: &MemoKey, n: &Integer, digits: u32) -> Result<Lookup, StoreError> {
        let span = info_span!(
            "sqrt.lookup",
            "sqrt.hit" = Empty,
            "sqrt.win" = Empty,
            "sqrt.wait" = Empty,
            "sqrt.chunks" = Empty,
            "sqrt.corrupt" = Empty,
            "sqrt.corrupt.reason" = Empty,
            "sqrt.source.trace_id" = Empty,
            "sqrt.source.span_id" = Empty,
        );
        let lookup = self
            .lookup_inner(key, n, digits)
            .instrument(span.clone())
            .await;
        match &lookup {
            Ok(Lookup::Hit(stored)) => {
                span.record("sqrt.hit", true);
                record_source(&span, &stored.source);
                stored.source.link_from(&span);
                // Outside the instrumented future the current span is the
                // caller's `sqrt.memo` span, which gets the link too.
                stored.source.link_from(&Span::current());
            }
            Ok(Lookup::Won { .. }) => {
                span.record("sqrt.hit", false);
                span.record("sqrt.win", true);
            }
            Ok(Lookup::Wait) => {
                span.record("sqrt.hit", false);
                span.record("sqrt.wait", true);
            }
            Ok(Lookup::Rejected { reason, .. }) => {
                span.record("sqrt.hit", false);
                span.record("sqrt.corrupt", true);
                span.record("sqrt.corrupt.reason", reason.to_string().as_str());
            }
            Err(e) => tracing::warn!(parent: &span, error = %e, "sqrt.lookup failed"),
        }
        lookup
    }

    async fn lookup_inner(
        &self,
        key: &MemoKey,
        n: &Integer,
        digits: u32,
    ) -> Result<Lookup, StoreError> {
        let item = self
            .store
            .meta_get(key.as_str(), Some(self.config.vivify_ttl))
            .await?;
        if item.win {
            return Ok(Lookup::Won { cas: item.cas });
        }
        if item.already_won || item.stale {
            return Ok(Lookup::Wait);
        }
        let Some(bytes) = item.value else {
            // Only possible if the server ignored vivify; poll again.
            return Ok(Lookup::Wait);
        };
        let reject = |reason: Rejection| Lookup::Rejected {
            reason,
            cas: item.cas,
        };
        if bytes.is_empty() {
            return Ok(reject(Rejection::Empty));
        }
        let stored = match value::decode(&bytes, digits) {
            Ok(StoredValue::Root(stored)) => stored,
            Ok(StoredValue::Manifest(manifest)) => {
                Span::current().record("sqrt.chunks", i64::from(manifest.chunk_count));
                let assembled = match read_chunks(&self.store, key, &manifest).await? {
                    Ok(assembled) => assembled,
                    Err(reason) => return Ok(reject(reason)),
                };
                match value::decode(&assembled, digits) {
                    Ok(StoredValue::Root(stored)) => stored,
                    Ok(StoredValue::Manifest(_)) => return Ok(reject(Rejection::NestedManifest)),
                    Err(e) => return Ok(reject(e.into())),
                }
            }
            Err(e) => return Ok(reject(e.into())),
        };
        if self.config.verify_hits && !self.verify(n, &stored.root).await {
            return Ok(reject(Rejection::WrongRoot));
        }
        Ok(Lookup::Hit(stored))
    }

    /// Checks a cached root against `n`, under the `sqrt.verify` span.
    async fn verify(&self, n: &Integer, root: &ExactSqrt) -> bool {
        let span = info_span!("sqrt.verify", "sqrt.verify.ok" = Empty);
        let heavy = n.significant_bits() > BLOCKING_THRESHOLD_BITS;
        let ok = {
            let (n, root) = (n.clone(), root.clone());
            let inner = span.clone();
            run_cpu(heavy, move || inner.in_scope(|| root.is_root_of(&n)))
                .await
                .unwrap_or(false)
        };
        span.record("sqrt.verify.ok", ok);
        ok
    }

    /// Computes under the `sqrt.compute` span; returns the root and the
    /// context of that span, which is stored with the value.
    async fn compute(
        &self,
        n: &Integer,
        canonical: &CanonicalDecimal,
        digits: u32,
    ) -> Result<(ExactSqrt, TraceContext), MemoError> {
        let span = info_span!(
            "sqrt.compute",
            "sqrt.number.bits" = i64::from(n.significant_bits()),
            "sqrt.number.decimal_digits" = attr(canonical.digit_count()),
            "sqrt.digits" = i64::from(digits),
            "sqrt.exact" = Empty,
        );
        let context = TraceContext::of_span(&span);
        Counters::bump(&self.counters.computations);
        let heavy = n.significant_bits() > BLOCKING_THRESHOLD_BITS;
        let owned = n.clone();
        let inner = span.clone();
        let root = run_cpu(heavy, move || {
            inner.in_scope(|| sqrt_decimal(&owned, digits))
        })
        .await??;
        span.record("sqrt.exact", root.is_exact());
        Ok((root, context))
    }

    async fn compute_and_store(
        &self,
        n: &Integer,
        canonical: &CanonicalDecimal,
        key: &MemoKey,
        digits: u32,
        cas: Option<u64>,
        source: Source,
    ) -> Result<SqrtOutcome, MemoError> {
        let (root, computed_by) = match self.compute(n, canonical, digits).await {
            Ok(done) => done,
            Err(e) => {
                // Release the placeholder so a waiter wins at once instead of
                // waiting out the vivify TTL.
                if cas.is_some() {
                    let _ = self.store.meta_delete(key.as_str(), cas).await;
                }
                return Err(e);
            }
        };
        if let Err(e) = self.store_root(key, &root, computed_by, cas).await {
            Counters::bump(&self.counters.store_errors);
            Span::current().record("sqrt.store.error", e.to_string().as_str());
            if !self.config.fail_open {
                return Err(e.into());
            }
        }
        Ok(SqrtOutcome {
            root,
            source,
            computed_by,
        })
    }

    /// Encodes and writes a root under the `sqrt.store` span.
    async fn store_root(
        &self,
        key: &MemoKey,
        root: &ExactSqrt,
        computed_by: TraceContext,
        cas: Option<u64>,
    ) -> Result<(), StoreError> {
        let span = info_span!(
            "sqrt.store",
            "sqrt.store.bytes" = Empty,
            "sqrt.store.chunks" = Empty,
            "sqrt.store.status" = Empty,
        );
        async {
            let encoded = value::encode_root(root, &computed_by);
            let span = Span::current();
            span.record("sqrt.store.bytes", attr(encoded.len()));
            let mut written = write_value(
                &self.store,
                key,
                &encoded,
                root.digits(),
                computed_by,
                &self.config,
                cas,
            )
            .await?;
            if written.status == SetStatus::NotFound {
                // The placeholder expired or was deleted while computing;
                // the result is still right, so store it unconditionally.
                written = write_value(
                    &self.store,
                    key,
                    &encoded,
                    root.digits(),
                    computed_by,
                    &self.config,
                    None,
                )
                .await?;
            }
            span.record("sqrt.store.chunks", i64::from(written.chunks));
            span.record(
                "sqrt.store.status",
                format!("{:?}", written.status).as_str(),
            );
            Ok(())
        }
        .instrument(span)
        .await
    }

    async fn compute_uncached(
        &self,
        n: &Integer,
        canonical: &CanonicalDecimal,
        digits: u32,
        error: StoreError,
    ) -> Result<SqrtOutcome, MemoError> {
        Counters::bump(&self.counters.store_errors);
        Span::current().record("sqrt.store.error", error.to_string().as_str());
        if !self.config.fail_open {
            return Err(error.into());
        }
        let (root, computed_by) = self.compute(n, canonical, digits).await?;
        Ok(SqrtOutcome {
            root,
            source: Source::ComputedUncached,
            computed_by,
        })
    }
}

/// A count as a span attribute: `tracing-opentelemetry` exports `i64`
/// fields as integers but unsigned ones as strings.
fn attr(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Records where a hit's value was computed, for backends without links.
fn record_source(span: &Span, source: &TraceContext) {
    span.record("sqrt.source.trace_id", source.trace_id_hex().as_str());
    span.record("sqrt.source.span_id", source.span_id_hex().as_str());
}

/// Runs CPU-heavy work on the blocking pool when inside a tokio runtime.
async fn run_cpu<T, F>(heavy: bool, work: F) -> Result<T, MemoError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    if heavy {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            return handle
                .spawn_blocking(work)
                .await
                .map_err(|e| MemoError::ComputeTask(e.to_string()));
        }
    }
    Ok(work())
}
