//! The `tracing` → OpenTelemetry bridge layer, configured in one place so the
//! real pipeline and the in-memory test pipeline record spans identically.

use opentelemetry_sdk::trace::SdkTracer;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

/// A `tracing-opentelemetry` layer writing into `tracer`. Span fields become
/// attributes; `otel.kind`, `otel.name`, `otel.status_code` are honoured.
pub fn otel_layer<S>(tracer: SdkTracer) -> OpenTelemetryLayer<S, SdkTracer>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        // Thread ids/names are noise on a tokio runtime where tasks migrate.
        .with_threads(false)
        // No `busy_ns`/`idle_ns` attributes: tracking them costs two clock
        // reads and bookkeeping on every enter/exit of every span (an async
        // call enters its span on each poll), and the span's duration says
        // what a reader of a memcached call needs.
        .with_tracked_inactivity(false)
}
