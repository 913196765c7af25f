//! The ways our client runs: without a subscriber, with a subscriber
//! that filters the client's INFO spans out by level, with
//! traced-telemetry's OpenTelemetry layer (the one `traced_telemetry::init`
//! installs) sampling every span (always-on) into a batch span processor
//! whose exporter drops the spans; and two floors of any layer-based
//! exporter: tracing-subscriber's registry alone, and the registry with a
//! layer handing one empty `SpanData` per span (no attributes, no fields
//! read) to the same batch processor.
//!
//! Subscribers are process-global by default, but the systems alternate in
//! one process, so none is installed globally. Each system instead gets its
//! own tokio runtime whose threads (workers and blocking pool) install the
//! system's dispatcher as their thread-local default in `on_thread_start`
//! and remove it in `on_thread_stop`; the benchmark futures are spawned on
//! that runtime, so every span the client creates, on whatever worker a
//! task runs, goes to that system's dispatcher and nobody else's. The
//! untraced system's threads install nothing and see no subscriber.
//!
//! (While any scoped dispatcher exists, tracing consults the thread-local
//! default on every span instead of a cached global one; that costs all
//! three modes alike, a few nanoseconds per span.)

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, SpanData, SpanEvents, SpanExporter, SpanLinks, SpanProcessor,
};
use opentelemetry_sdk::Resource;
use tokio::runtime::Runtime;
use traced_telemetry::{
    opentelemetry, opentelemetry_sdk, OtelLayer, SamplerConfig, SharedProcessor,
};
use tracing::dispatcher::DefaultGuard;
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::EnvFilter;

/// How our client is traced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TracingMode {
    /// No subscriber at all.
    Off,
    /// An OpenTelemetry subscriber whose filter (`warn`) excludes the
    /// client's INFO spans.
    DisabledByLevel,
    /// Every span sampled and handed to the batch processor.
    AlwaysOn,
    /// tracing-subscriber's registry alone: every span is created, stored
    /// and closed, nothing is exported.
    RegistryOnly,
    /// The registry and a layer ending one empty span (name and times only)
    /// per closed span into the batch processor.
    EmptySpans,
}

impl TracingMode {
    pub fn label(self) -> &'static str {
        match self {
            TracingMode::Off => "ours: no subscriber",
            TracingMode::DisabledByLevel => "ours: spans disabled by level",
            TracingMode::AlwaysOn => "ours: OTel always-on, drop exporter",
            TracingMode::RegistryOnly => "ours: tracing registry, no layer",
            TracingMode::EmptySpans => "ours: registry + empty span to batch processor",
        }
    }
}

/// An exporter that accepts every batch and keeps nothing: the whole
/// pipeline runs (sampling, span building, batching on the processor's
/// thread), only the network send is left out.
/// It counts what it drops, so the report can show the spans really went
/// through the pipeline.
#[derive(Debug)]
struct DropExporter(Arc<AtomicU64>);

impl SpanExporter for DropExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        drop(batch);
        Ok(())
    }
}

/// The subscriber of one mode; shuts its span processor down on drop.
pub struct Tracing {
    pub dispatch: Option<Dispatch>,
    processor: Option<SharedProcessor>,
    exported: Arc<AtomicU64>,
}

impl Tracing {
    pub fn new(mode: TracingMode) -> Tracing {
        match mode {
            TracingMode::Off => {
                return Tracing {
                    dispatch: None,
                    processor: None,
                    exported: Arc::default(),
                }
            }
            TracingMode::RegistryOnly => {
                return Tracing {
                    dispatch: Some(Dispatch::new(tracing_subscriber::registry())),
                    processor: None,
                    exported: Arc::default(),
                }
            }
            TracingMode::DisabledByLevel | TracingMode::AlwaysOn | TracingMode::EmptySpans => {}
        }
        let exported = Arc::new(AtomicU64::new(0));
        let processor = SharedProcessor::new(
            BatchSpanProcessor::builder(DropExporter(exported.clone())).build(),
            &Resource::builder().build(),
        );
        let dispatch = match mode {
            TracingMode::DisabledByLevel => Dispatch::new(
                tracing_subscriber::registry()
                    .with(EnvFilter::new("warn"))
                    .with(always_on_layer(&processor)),
            ),
            TracingMode::EmptySpans => {
                Dispatch::new(tracing_subscriber::registry().with(EmptySpanLayer {
                    processor: processor.clone(),
                    scope: InstrumentationScope::builder("peers-bench").build(),
                }))
            }
            _ => Dispatch::new(tracing_subscriber::registry().with(always_on_layer(&processor))),
        };
        Tracing {
            dispatch: Some(dispatch),
            processor: Some(processor),
            exported,
        }
    }

    /// Spans that reached the exporter so far, after flushing the batch
    /// processor; `None` without a pipeline.
    pub fn exported_spans(&self) -> Option<u64> {
        let processor = self.processor.as_ref()?;
        let _ = processor.force_flush();
        Some(self.exported.load(Ordering::Relaxed))
    }

    /// A two-worker runtime whose threads all use this mode's dispatcher.
    pub fn runtime(&self) -> std::io::Result<Runtime> {
        thread_local! {
            static GUARD: RefCell<Option<DefaultGuard>> = const { RefCell::new(None) };
        }
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2).enable_all();
        if let Some(dispatch) = self.dispatch.clone() {
            builder
                .on_thread_start(move || {
                    let guard = tracing::dispatcher::set_default(&dispatch);
                    GUARD.with(|g| *g.borrow_mut() = Some(guard));
                })
                .on_thread_stop(|| {
                    GUARD.with(|g| drop(g.borrow_mut().take()));
                });
        }
        builder.build()
    }
}

/// The layer `traced_telemetry` installs, sampling every span into `processor`.
fn always_on_layer<S>(processor: &SharedProcessor) -> OtelLayer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    OtelLayer::new(
        processor.clone(),
        SamplerConfig::AlwaysOn,
        InstrumentationScope::builder("peers-bench").build(),
    )
}

/// Ends an empty span per closed `tracing` span: the cost of the registry
/// and the SDK's batch processor with no span content at all (ids are
/// fixed, start and end are one clock read each, as in a real span).
struct EmptySpanLayer {
    processor: SharedProcessor,
    scope: InstrumentationScope,
}

/// When an [`EmptySpanLayer`] span started.
struct Started(SystemTime);

impl<S> tracing_subscriber::Layer<S> for EmptySpanLayer
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    fn on_new_span(
        &self,
        _attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Started(SystemTime::now()));
        }
    }

    fn on_close(&self, id: tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(Started(start_time)) = span.extensions_mut().remove::<Started>() else {
            return;
        };
        let span_context = SpanContext::new(
            TraceId::from(1),
            SpanId::from(id.into_u64()),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        self.processor.on_end(SpanData {
            span_context,
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Client,
            name: span.name().into(),
            start_time,
            end_time: SystemTime::now(),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: self.scope.clone(),
        });
    }
}

impl Drop for Tracing {
    fn drop(&mut self) {
        if let Some(processor) = self.processor.take() {
            // Nothing is exported, so this only stops the processor thread.
            let _ = processor.shutdown_with_timeout(Duration::from_secs(5));
        }
    }
}
