//! One-call OpenTelemetry setup for the traced memcached toolkit: a `tracing`
//! subscriber with a lean OpenTelemetry layer ([`OtelLayer`]), a batch span processor, a
//! Zipkin (default) / OTLP-over-HTTP / no-op exporter chosen by the standard
//! `OTEL_*` variables or an explicit builder, and a shutdown that flushes and
//! says truthfully how many spans were delivered.
//!
//! ```no_run
//! let telemetry = traced_telemetry::builder("sqrt-demo")
//!     .service_version(env!("CARGO_PKG_VERSION"))
//!     .install()?;
//! tracing::info_span!("work").in_scope(|| { /* ... */ });
//! match telemetry.shutdown() {
//!     Ok(report) => println!("{report}"),
//!     Err(error) => eprintln!("{error}"),
//! }
//! # Ok::<(), traced_telemetry::TelemetryError>(())
//! ```

mod config;
mod counting;
mod env;
mod error;
mod exporter_config;
mod http_client;
mod interned;
mod layer;
mod metrics_config;
mod metrics_export;
#[cfg(feature = "testing")]
mod metrics_testing;
mod pipeline;
mod report;
mod resource;
mod sampler;
mod shared_processor;
mod span_ext;
mod span_record;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{
    TelemetryBuilder, TelemetryConfig, OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME, RUST_LOG,
};
pub use counting::SpanCounts;
pub use env::EnvVars;
pub use error::{ConfigError, ShutdownError, TelemetryError};
pub use exporter_config::*;
pub use layer::OtelLayer;
pub use metrics_config::*;
pub use metrics_export::MetricCounts;
pub use pipeline::TelemetryGuard;
pub use report::{MetricsReport, ShutdownReport};
pub use resource::build_resource;
pub use sampler::{SamplerConfig, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG};
pub use shared_processor::SharedProcessor;
pub use span_ext::{OpenTelemetrySpanExt, SetParentError};

/// Re-exported so instrumented crates use the exact versions this crate links.
pub use opentelemetry;
pub use opentelemetry_sdk;
/// Re-exported for code that installs `tracing-opentelemetry`'s own layer;
/// [`OpenTelemetrySpanExt`] works with spans of either layer.
pub use tracing_opentelemetry;

/// Starts configuring telemetry for a service called `default_service_name`
/// (which `OTEL_SERVICE_NAME` may override).
pub fn builder(default_service_name: impl Into<String>) -> TelemetryBuilder {
    TelemetryBuilder::new(default_service_name)
}

/// Configures everything from the environment and installs it globally.
pub fn init(default_service_name: impl Into<String>) -> Result<TelemetryGuard, TelemetryError> {
    builder(default_service_name).install()
}
