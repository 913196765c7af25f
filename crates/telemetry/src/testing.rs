//! In-memory telemetry for tests and benches (feature `testing`): the same
//! `tracing` layer as production, but finished spans land in a vector that the
//! test reads back, attributes and links included. Spans are exported as they
//! end (simple processor), so no flush is needed before reading. Metrics:
//! [`InMemoryMetrics`], collected on demand.

use crate::pipeline::instrumentation_scope;
use crate::{OtelLayer, SamplerConfig, SharedProcessor};
use opentelemetry::trace::SpanId;
use opentelemetry::Value;
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor, SpanData,
};
use opentelemetry_sdk::Resource;
use tracing::Subscriber;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

pub use crate::metrics_testing::{CollectedPoint, InMemoryMetrics, PointValue};
pub use opentelemetry::trace::SpanKind;
pub use opentelemetry_sdk::trace::SpanData as FinishedSpan;

/// A pipeline exporting into memory.
///
/// With [`Self::set_default`] only spans of the current thread are captured
/// (use a current-thread tokio runtime); for multi-threaded code wrap the future
/// in `tracing::instrument::WithSubscriber::with_subscriber(fut, t.subscriber())`.
#[derive(Debug)]
pub struct InMemoryTelemetry {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
    processor: SharedProcessor,
    sampler: SamplerConfig,
}

impl Default for InMemoryTelemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryTelemetry {
    /// Records every span (always-on sampler).
    pub fn new() -> Self {
        Self::with_sampler(SamplerConfig::AlwaysOn)
    }

    /// Records what `sampler` keeps.
    pub fn with_sampler(sampler: SamplerConfig) -> Self {
        let exporter = InMemorySpanExporter::default();
        let resource = Resource::builder_empty().with_service_name("test").build();
        let processor = SharedProcessor::new(SimpleSpanProcessor::new(exporter.clone()), &resource);
        let provider = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_sampler(sampler.to_sdk_sampler())
            .with_span_processor(processor.clone())
            .build();
        Self {
            exporter,
            provider,
            processor,
            sampler,
        }
    }

    /// The production layer, writing into this in-memory pipeline.
    pub fn layer<S>(&self) -> OtelLayer<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        OtelLayer::new(
            self.processor.clone(),
            self.sampler,
            instrumentation_scope(),
        )
    }

    /// A subscriber made of the registry and [`Self::layer`].
    pub fn subscriber(&self) -> impl Subscriber + Send + Sync + 'static {
        tracing_subscriber::registry().with(self.layer())
    }

    /// Makes [`Self::subscriber`] the current thread's default until the guard drops.
    pub fn set_default(&self) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(self.subscriber())
    }

    /// The tracer provider (to create spans without `tracing`).
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    /// Spans finished so far, in the order they ended.
    pub fn finished_spans(&self) -> Vec<FinishedSpan> {
        // The in-memory exporter only errs when its lock was poisoned by a
        // panicking test; an empty list then makes that test's asserts fail.
        self.exporter.get_finished_spans().unwrap_or_default()
    }

    /// The finished spans called `name`.
    pub fn spans_named(&self, name: &str) -> Vec<FinishedSpan> {
        self.finished_spans()
            .into_iter()
            .filter(|span| span.name == name)
            .collect()
    }

    /// Forgets the spans recorded so far.
    pub fn reset(&self) {
        self.exporter.reset();
    }
}

/// Convenience accessors on finished spans.
pub trait FinishedSpanExt {
    /// The attribute `key`, if recorded.
    fn attribute(&self, key: &str) -> Option<&Value>;
    /// The attribute `key` rendered as a string, if recorded.
    fn attribute_str(&self, key: &str) -> Option<String>;
    /// Whether `parent` is this span's parent (same trace, parent id matches).
    fn is_child_of(&self, parent: &SpanData) -> bool;
    /// Whether the span has no parent in this process or elsewhere.
    fn is_root(&self) -> bool;
    /// Whether this span links to `other`.
    fn links_to(&self, other: &SpanData) -> bool;
}

impl FinishedSpanExt for SpanData {
    fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    fn attribute_str(&self, key: &str) -> Option<String> {
        self.attribute(key).map(|value| value.as_str().into_owned())
    }

    fn is_child_of(&self, parent: &SpanData) -> bool {
        self.span_context.trace_id() == parent.span_context.trace_id()
            && self.parent_span_id == parent.span_context.span_id()
    }

    fn is_root(&self) -> bool {
        self.parent_span_id == SpanId::INVALID
    }

    fn links_to(&self, other: &SpanData) -> bool {
        self.links
            .iter()
            .any(|link| link.span_context == other.span_context)
    }
}
