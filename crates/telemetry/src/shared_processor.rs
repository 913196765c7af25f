//! The one processor finished spans go to, shared by the `tracing` layer
//! (which hands it the spans it builds) and the SDK tracer provider (which
//! flushes and shuts it down, and feeds it spans made through the
//! OpenTelemetry API directly).

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;
use std::sync::Arc;
use std::time::Duration;

/// A span processor behind an `Arc`, so that the layer and the provider
/// reach the same one.
#[derive(Debug, Clone)]
pub struct SharedProcessor(Arc<dyn SpanProcessor>);

impl SharedProcessor {
    /// Shares `processor`, after telling it the `resource` its exporter
    /// describes (the provider cannot: a shared processor is not `&mut`).
    pub fn new(mut processor: impl SpanProcessor + 'static, resource: &Resource) -> Self {
        processor.set_resource(resource);
        Self(Arc::new(processor))
    }
}

impl SpanProcessor for SharedProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, _resource: &Resource) {
        // Set once in `new`, before the processor was shared.
    }
}
