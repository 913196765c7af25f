//! The steps of one call, each under its own span: `sqrt.lookup` (one
//! vivifying `mg` and the checks of what it returned), `sqrt.verify`,
//! `sqrt.compute` and `sqrt.store`.

use rug::Integer;
use tracing::field::Empty;
use tracing::{info_span, Instrument, Span};

use super::{Source, SqrtMemo, SqrtOutcome};
use crate::arith::{decimal_digit_count, sqrt_decimal_rem_within, ExactSqrt};
use crate::certificate::{self, Method};
use crate::chunk::{read_chunks, write_value};
use crate::error::{MemoError, StoreError};
use crate::key::MemoKey;
use crate::rejection::Rejection;
use crate::stats::Counters;
use crate::store::{MemoStore, SetStatus};
use crate::trace_context::TraceContext;
use crate::value::{self, DecodeRules, Decoded, StoredRoot, StoredValue};

/// Numbers above this many bits are computed and verified on tokio's
/// blocking pool, so a huge root does not stall the async workers.
const BLOCKING_THRESHOLD_BITS: u32 = 1 << 17;

/// What one lookup found.
pub(super) enum Lookup {
    Hit(StoredRoot),
    Won { cas: Option<u64> },
    Wait,
    Rejected { reason: Rejection, cas: Option<u64> },
}

impl<S: MemoStore> SqrtMemo<S> {
    /// One vivifying lookup, under the `sqrt.lookup` span.
    pub(super) async fn lookup(
        &self,
        key: &MemoKey,
        n: &Integer,
        digits: u32,
    ) -> Result<Lookup, StoreError> {
        let span = info_span!(
            "sqrt.lookup",
            "sqrt.hit" = Empty,
            "sqrt.win" = Empty,
            "sqrt.wait" = Empty,
            "sqrt.chunks" = Empty,
            "sqrt.corrupt" = Empty,
            "sqrt.corrupt.reason" = Empty,
            "sqrt.authenticated" = Empty,
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
        let rules = self.decode_rules(key, digits);
        let decoded = match value::decode(&bytes, &rules) {
            Ok(Decoded {
                value: StoredValue::Root(stored),
                authenticated,
            }) => (stored, authenticated),
            Ok(Decoded {
                value: StoredValue::Manifest(manifest),
                ..
            }) => {
                Span::current().record("sqrt.chunks", i64::from(manifest.chunk_count));
                let assembled = match read_chunks(&self.store, key, &manifest).await? {
                    Ok(assembled) => assembled,
                    Err(reason) => return Ok(reject(reason)),
                };
                match value::decode(&assembled, &rules) {
                    Ok(Decoded {
                        value: StoredValue::Root(stored),
                        authenticated,
                    }) => (stored, authenticated),
                    Ok(_) => return Ok(reject(Rejection::NestedManifest)),
                    Err(e) => return Ok(reject(e.into())),
                }
            }
            Err(e) => return Ok(reject(e.into())),
        };
        let (stored, authenticated) = decoded;
        Span::current().record("sqrt.authenticated", authenticated);
        // Only a value written by a holder of the secret may skip the check.
        let verify = self.hits_are_verified() || !authenticated;
        if verify && !self.verify(n, &stored).await {
            return Ok(reject(Rejection::WrongRoot));
        }
        Ok(Lookup::Hit(stored))
    }

    /// Whether this engine checks the roots its hits read (an authenticated
    /// value may skip it only when `verify_hits` is off and a secret is set).
    fn hits_are_verified(&self) -> bool {
        self.config.verify_hits || self.config.secret.is_none()
    }

    /// What a value read under `key` must satisfy.
    pub(super) fn decode_rules<'a>(&'a self, key: &'a MemoKey, digits: u32) -> DecodeRules<'a> {
        DecodeRules {
            key,
            digits,
            secret: self.config.secret.as_ref(),
            max_value_len: self.config.max_value_len,
            max_chunks: self.config.max_chunks(),
        }
    }

    /// Checks a cached root against `n`, under the `sqrt.verify` span: in
    /// linear time with the stored remainder when that pays, else by
    /// squaring the root ([`Method::for_root`]).
    async fn verify(&self, n: &Integer, stored: &StoredRoot) -> bool {
        let method = Method::for_root(&stored.root, stored.remainder.is_some());
        let span = info_span!(
            "sqrt.verify",
            "sqrt.verify.method" = method.as_str(),
            "sqrt.verify.ok" = Empty
        );
        let heavy = n.significant_bits() > BLOCKING_THRESHOLD_BITS;
        let ok = {
            let (n, root, remainder) = (n.clone(), stored.root.clone(), stored.remainder.clone());
            let inner = span.clone();
            run_cpu(heavy, move || {
                inner.in_scope(|| certificate::verify(&root, remainder.as_ref(), &n))
            })
            .await
            .unwrap_or(false)
        };
        span.record("sqrt.verify.ok", ok);
        ok
    }

    /// Computes under the `sqrt.compute` span; returns the root, its
    /// remainder and the context of that span, which is stored with the value.
    async fn compute(
        &self,
        n: &Integer,
        digits: u32,
    ) -> Result<(ExactSqrt, Integer, TraceContext), MemoError> {
        let span = info_span!(
            "sqrt.compute",
            "sqrt.number.bits" = i64::from(n.significant_bits()),
            "sqrt.number.decimal_digits" = Empty,
            "sqrt.digits" = i64::from(digits),
            "sqrt.exact" = Empty,
        );
        let context = TraceContext::of_span(&span);
        Counters::bump(&self.counters.computations);
        let started = std::time::Instant::now();
        let heavy = n.significant_bits() > BLOCKING_THRESHOLD_BITS;
        let owned = n.clone();
        let inner = span.clone();
        let limits = self.config.limits;
        let root = run_cpu(heavy, move || {
            inner.in_scope(|| {
                // Counted here, off the async workers: exact, but not free
                // for a huge number.
                let decimal_digits = decimal_digit_count(&owned);
                inner.record(
                    "sqrt.number.decimal_digits",
                    i64::try_from(decimal_digits).unwrap_or(i64::MAX),
                );
                // The engine's own limits (checked on entry), not the defaults.
                sqrt_decimal_rem_within(&owned, digits, &limits)
            })
        })
        .await??;
        self.counters
            .metrics
            .computed(n.significant_bits(), started.elapsed());
        let (root, remainder) = root;
        span.record("sqrt.exact", root.is_exact());
        Ok((root, remainder, context))
    }

    pub(super) async fn compute_and_store(
        &self,
        n: &Integer,
        key: &MemoKey,
        digits: u32,
        cas: Option<u64>,
        source: Source,
    ) -> Result<SqrtOutcome, MemoError> {
        let (root, remainder, computed_by) = match self.compute(n, digits).await {
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
        if let Err(e) = self
            .store_root(key, &root, &remainder, computed_by, cas)
            .await
        {
            Counters::bump(&self.counters.store_errors);
            self.counters.metrics.store_error();
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

    /// Encodes and writes a root under the `sqrt.store` span, with its
    /// remainder when this engine's own hits would be verified (a writer
    /// whose hits skip verification stores what its readers need, no more).
    async fn store_root(
        &self,
        key: &MemoKey,
        root: &ExactSqrt,
        remainder: &Integer,
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
            let remainder = self.hits_are_verified().then_some(remainder);
            let encoded = value::encode_root_with_remainder(
                root,
                remainder,
                &computed_by,
                key,
                self.config.secret.as_ref(),
            );
            let span = Span::current();
            span.record("sqrt.store.bytes", attr(encoded.len()));
            let write = |cas| {
                write_value(
                    &self.store,
                    key,
                    &encoded,
                    root.digits(),
                    computed_by,
                    &self.config,
                    cas,
                )
            };
            let mut written = write(cas).await?;
            if written.status == SetStatus::NotFound {
                // The placeholder expired or was deleted while computing;
                // the result is still right, so store it unconditionally.
                written = write(None).await?;
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

    pub(super) async fn compute_uncached(
        &self,
        n: &Integer,
        digits: u32,
        error: StoreError,
    ) -> Result<SqrtOutcome, MemoError> {
        Counters::bump(&self.counters.store_errors);
        self.counters.metrics.store_error();
        Span::current().record("sqrt.store.error", error.to_string().as_str());
        if !self.config.fail_open {
            return Err(error.into());
        }
        let (root, _, computed_by) = self.compute(n, digits).await?;
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
/// Unknown (all-zero) contexts are left out rather than shown as ids.
pub(super) fn record_source(span: &Span, source: &TraceContext) {
    if !source.is_valid() {
        return;
    }
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
