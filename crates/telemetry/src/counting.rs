//! Span accounting for a truthful shutdown report: how many sampled spans
//! finished, and how many the exporter delivered or failed to deliver.

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Shared counters, updated by [`CountingProcessor`] and [`CountingExporter`].
#[derive(Debug, Default)]
pub struct SpanCounters {
    finished: AtomicU64,
    exported: AtomicU64,
    failed: AtomicU64,
    last_error: LastError,
}

/// The most recent export error of a signal, kept for the shutdown report
/// (the SDK's processors and readers swallow export errors).
#[derive(Debug, Default)]
pub(crate) struct LastError(Mutex<Option<String>>);

impl LastError {
    /// The error, if any export failed.
    pub(crate) fn get(&self) -> Option<String> {
        // A poisoned lock only means a panic elsewhere; the text is still valid.
        match self.0.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the error.
    pub(crate) fn set(&self, error: String) {
        let mut slot = match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Some(error);
    }
}

/// Span counts at one moment: what finished, what was delivered, what failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpanCounts {
    /// Sampled spans that ended (and so were handed to the exporter pipeline).
    pub finished: u64,
    /// Spans the backend accepted.
    pub exported: u64,
    /// Spans in export requests that failed.
    pub failed: u64,
}

impl SpanCounters {
    /// Current values.
    pub fn snapshot(&self) -> SpanCounts {
        SpanCounts {
            finished: self.finished.load(Ordering::Acquire),
            exported: self.exported.load(Ordering::Acquire),
            failed: self.failed.load(Ordering::Acquire),
        }
    }

    /// The most recent export error, if any export failed.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.get()
    }
}

/// Counts sampled spans as they end, then hands them to the processor that
/// exports them. One processor, not a counter registered beside it: the SDK
/// clones every span for each processor but the last.
#[derive(Debug)]
pub struct CountingProcessor<P> {
    inner: Option<P>,
    counters: Arc<SpanCounters>,
}

impl<P> CountingProcessor<P> {
    /// Counts into `counters` what reaches `inner` (`None`: count, then drop).
    pub fn new(inner: Option<P>, counters: Arc<SpanCounters>) -> Self {
        Self { inner, counters }
    }
}

impl<P: SpanProcessor> SpanProcessor for CountingProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        if let Some(inner) = &self.inner {
            inner.on_start(span, cx);
        }
    }

    fn on_end(&self, span: SpanData) {
        // Export processors drop unsampled spans; count what they will export.
        if span.span_context.is_sampled() {
            self.counters.finished.fetch_add(1, Ordering::AcqRel);
        }
        if let Some(inner) = &self.inner {
            inner.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner
            .as_ref()
            .map_or(Ok(()), |inner| inner.force_flush())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner
            .as_ref()
            .map_or(Ok(()), |inner| inner.shutdown_with_timeout(timeout))
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(inner) = &mut self.inner {
            inner.set_resource(resource);
        }
    }
}

/// Forwards to the real exporter and counts the outcome of every batch.
#[derive(Debug)]
pub struct CountingExporter<E> {
    inner: E,
    counters: Arc<SpanCounters>,
}

impl<E> CountingExporter<E> {
    /// Counts `inner`'s exports into `counters`.
    pub fn new(inner: E, counters: Arc<SpanCounters>) -> Self {
        Self { inner, counters }
    }
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len() as u64;
        let result = self.inner.export(batch).await;
        match &result {
            Ok(()) => self.counters.exported.fetch_add(spans, Ordering::AcqRel),
            Err(error) => {
                // The SDK's batch processor swallows export errors at shutdown;
                // keep the reason so the shutdown report can state it.
                self.counters.last_error.set(error.to_string());
                self.counters.failed.fetch_add(spans, Ordering::AcqRel)
            }
        };
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
