//! Building the pipeline (exporter → counting → batch processor → provider) and
//! the guard that owns it and flushes it on shutdown.

use crate::counting::{CountingExporter, CountingProcessor, SpanCounters};
use crate::http_client::{blocking_client, ZipkinServiceNameClient};
use crate::metrics_export::{ConsoleMetricExporter, CountingMetricExporter, MetricCounters};
use crate::{
    build_resource, ExporterConfig, MetricsConfig, MetricsExporterConfig, MetricsReport, OtelLayer,
    OtlpProtocol, SharedProcessor, ShutdownError, ShutdownReport, SpanCounts, TelemetryBuilder,
    TelemetryConfig, TelemetryError,
};
use opentelemetry::InstrumentationScope;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, SpanExporter};
use opentelemetry_sdk::Resource;
use std::sync::Arc;
use tracing::Subscriber;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

impl TelemetryBuilder {
    /// Builds the pipeline without installing anything globally: attach
    /// [`TelemetryGuard::layer`] to a subscriber of your own.
    pub fn build(self) -> Result<TelemetryGuard, TelemetryError> {
        TelemetryGuard::new(self.resolve()?)
    }

    /// Builds the pipeline and installs it: a global `tracing` subscriber with
    /// the OpenTelemetry layer (plus log output when configured), the global
    /// OpenTelemetry tracer provider, the global meter provider (when a
    /// metrics exporter is configured), and the W3C trace-context propagator.
    pub fn install(self) -> Result<TelemetryGuard, TelemetryError> {
        let guard = self.build()?;
        let log_layer = guard.config.log_filter.as_deref().map(|directives| {
            // Validated while resolving; an empty filter is the safe fallback.
            let filter = EnvFilter::try_new(directives).unwrap_or_default();
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter)
        });
        tracing_subscriber::registry()
            .with(guard.layer())
            .with(log_layer)
            .try_init()
            .map_err(|e| TelemetryError::SubscriberAlreadySet(e.to_string()))?;
        opentelemetry::global::set_tracer_provider(guard.provider.clone());
        if let Some(meter_provider) = &guard.meter_provider {
            opentelemetry::global::set_meter_provider(meter_provider.clone());
        }
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        Ok(guard)
    }
}

/// Owns the tracer and meter providers. [`TelemetryGuard::shutdown`] flushes
/// every pending span and metric and reports the outcome; dropping the guard
/// flushes too, silently.
#[derive(Debug)]
pub struct TelemetryGuard {
    config: TelemetryConfig,
    provider: SdkTracerProvider,
    processor: SharedProcessor,
    counters: Arc<SpanCounters>,
    meter_provider: Option<SdkMeterProvider>,
    metric_counters: Arc<MetricCounters>,
    shut_down: bool,
}

impl TelemetryGuard {
    fn new(config: TelemetryConfig) -> Result<Self, TelemetryError> {
        let counters = Arc::new(SpanCounters::default());
        let resource = build_resource(&config);
        let exporting: Option<BatchSpanProcessor> = match &config.exporter {
            ExporterConfig::Zipkin { endpoint } => {
                let client = ZipkinServiceNameClient::new(
                    blocking_client("zipkin", endpoint, config.export_timeout)?,
                    config.service_name.clone(),
                );
                Some(batch_processor(
                    zipkin_exporter(client, endpoint)?,
                    &counters,
                ))
            }
            ExporterConfig::Otlp { endpoint, protocol } => {
                let exporter = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_http_client(blocking_client("otlp", endpoint, config.export_timeout)?)
                    .with_endpoint(endpoint.clone())
                    .with_protocol(otlp_protocol(*protocol))
                    .with_timeout(config.export_timeout)
                    .build()
                    .map_err(|e| TelemetryError::Exporter {
                        exporter: "otlp",
                        reason: e.to_string(),
                    })?;
                Some(batch_processor(exporter, &counters))
            }
            ExporterConfig::None => None,
        };
        let processor = SharedProcessor::new(
            CountingProcessor::new(exporting, counters.clone()),
            &resource,
        );
        // The provider shares the processor: it flushes and shuts it down,
        // and spans made through the OpenTelemetry API reach it too.
        let metric_counters = Arc::new(MetricCounters::default());
        let meter_provider = meter_provider(&config.metrics, &resource, &metric_counters)?;
        let provider = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_sampler(config.sampler.to_sdk_sampler())
            .with_span_processor(processor.clone())
            .build();
        Ok(Self {
            config,
            provider,
            processor,
            counters,
            meter_provider,
            metric_counters,
            shut_down: false,
        })
    }

    /// A fresh `tracing` layer feeding this pipeline (one per subscriber).
    pub fn layer<S>(&self) -> OtelLayer<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        OtelLayer::new(
            self.processor.clone(),
            self.config.sampler,
            instrumentation_scope(),
        )
    }

    /// The configuration in force after precedence was applied.
    pub fn config(&self) -> &TelemetryConfig {
        &self.config
    }

    /// The OpenTelemetry tracer provider (e.g. for non-`tracing` instrumentation).
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    /// The meter provider, when a metrics exporter is configured (instruments
    /// created from it are exported at the configured interval).
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.meter_provider.as_ref()
    }

    /// Span counts so far (exports lag behind the batch processor's schedule).
    pub fn counts(&self) -> SpanCounts {
        self.counters.snapshot()
    }

    /// Exports every span finished so far without shutting down (e.g. before a
    /// test queries the collector); same report as [`Self::shutdown`].
    pub fn flush(&self) -> Result<ShutdownReport, ShutdownError> {
        let outcome = self.provider.force_flush();
        let metrics = self
            .meter_provider
            .as_ref()
            .map(|meters| meters.force_flush());
        self.outcome(outcome.err().map(|e| e.to_string()), metrics)
    }

    /// The report after flushing or shutting down: `failure` for spans,
    /// `metrics` the meter provider's result (`None` without one).
    fn outcome(
        &self,
        failure: Option<String>,
        metrics: Option<opentelemetry_sdk::error::OTelSdkResult>,
    ) -> Result<ShutdownReport, ShutdownError> {
        let metrics = metrics.map(|result| MetricsReport {
            exporter: self.config.metrics.exporter.clone(),
            counts: self.metric_counters.snapshot(),
            failure: result.err().map(|e| e.to_string()),
            last_export_error: self.metric_counters.last_error(),
        });
        shutdown_outcome(
            self.config.exporter.clone(),
            &self.counters,
            failure,
            metrics,
        )
    }

    /// Flushes every pending span, stops the exporter, and reports how many
    /// spans reached the backend. Blocks up to the shutdown timeout; it is safe
    /// inside a tokio runtime (exports run on the batch processor's own thread),
    /// though [`Self::shutdown_async`] avoids stalling a runtime worker.
    pub fn shutdown(mut self) -> Result<ShutdownReport, ShutdownError> {
        self.shut_down = true;
        let outcome = self
            .provider
            .shutdown_with_timeout(self.config.shutdown_timeout);
        // Shutting the meter provider down collects and exports a last time.
        let metrics = self
            .meter_provider
            .as_ref()
            .map(|meters| meters.shutdown_with_timeout(self.config.shutdown_timeout));
        self.outcome(outcome.err().map(|e| e.to_string()), metrics)
    }

    /// [`Self::shutdown`] on tokio's blocking thread pool.
    pub async fn shutdown_async(self) -> Result<ShutdownReport, ShutdownError> {
        let exporter = self.config.exporter.clone();
        let counters = self.counters.clone();
        match tokio::task::spawn_blocking(move || self.shutdown()).await {
            Ok(result) => result,
            Err(join_error) => shutdown_outcome(
                exporter,
                &counters,
                Some(format!("shutdown task failed: {join_error}")),
                None,
            ),
        }
    }
}

/// The report on what was exported; an error unless it is complete (a
/// `failure` always makes it incomplete).
fn shutdown_outcome(
    exporter: ExporterConfig,
    counters: &SpanCounters,
    failure: Option<String>,
    metrics: Option<MetricsReport>,
) -> Result<ShutdownReport, ShutdownError> {
    let report = ShutdownReport {
        exporter,
        counts: counters.snapshot(),
        failure,
        last_export_error: counters.last_error(),
        metrics,
    };
    if report.is_complete() {
        Ok(report)
    } else {
        Err(ShutdownError {
            report: Box::new(report),
        })
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if !self.shut_down {
            // Best effort: a dropped guard has nobody to report to.
            let _ = self
                .provider
                .shutdown_with_timeout(self.config.shutdown_timeout);
            if let Some(meters) = &self.meter_provider {
                let _ = meters.shutdown_with_timeout(self.config.shutdown_timeout);
            }
        }
    }
}

/// The meter provider `config` asks for, exporting through a counting
/// exporter on the SDK's periodic reader (its own thread, like the batch
/// span processor); `None` for exporter `none`.
fn meter_provider(
    config: &MetricsConfig,
    resource: &Resource,
    counters: &Arc<MetricCounters>,
) -> Result<Option<SdkMeterProvider>, TelemetryError> {
    fn with_exporter<E: PushMetricExporter>(
        exporter: E,
        config: &MetricsConfig,
        resource: &Resource,
        counters: &Arc<MetricCounters>,
    ) -> SdkMeterProvider {
        let reader =
            PeriodicReader::builder(CountingMetricExporter::new(exporter, counters.clone()))
                .with_interval(config.export_interval)
                .build();
        SdkMeterProvider::builder()
            .with_resource(resource.clone())
            .with_reader(reader)
            .build()
    }
    let provider = match &config.exporter {
        MetricsExporterConfig::None => return Ok(None),
        MetricsExporterConfig::Console => {
            with_exporter(ConsoleMetricExporter, config, resource, counters)
        }
        MetricsExporterConfig::Otlp { endpoint, protocol } => {
            let exporter = opentelemetry_otlp::MetricExporter::builder()
                .with_http()
                .with_http_client(blocking_client("otlp", endpoint, config.export_timeout)?)
                .with_endpoint(endpoint.clone())
                .with_protocol(otlp_protocol(*protocol))
                .with_timeout(config.export_timeout)
                // What OTLP backends expect, and the specification's default.
                .with_temporality(Temporality::Cumulative)
                .build()
                .map_err(|e| TelemetryError::Exporter {
                    exporter: "otlp metrics",
                    reason: e.to_string(),
                })?;
            with_exporter(exporter, config, resource, counters)
        }
    };
    Ok(Some(provider))
}

fn otlp_protocol(protocol: OtlpProtocol) -> opentelemetry_otlp::Protocol {
    match protocol {
        OtlpProtocol::HttpProtobuf => opentelemetry_otlp::Protocol::HttpBinary,
        OtlpProtocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
    }
}

/// opentelemetry-zipkin 0.33 is deprecated upstream in favour of OTLP (which
/// Zipkin also accepts), but plain Zipkin JSON is what the demo's collector and
/// older Zipkin/Jaeger deployments speak, so it stays the default here.
#[allow(deprecated)]
fn zipkin_exporter(
    client: ZipkinServiceNameClient<reqwest::blocking::Client>,
    endpoint: &str,
) -> Result<opentelemetry_zipkin::ZipkinExporter, TelemetryError> {
    opentelemetry_zipkin::ZipkinExporter::builder()
        .with_http_client(client)
        .with_collector_endpoint(endpoint)
        .build()
        .map_err(|e| TelemetryError::Exporter {
            exporter: "zipkin",
            reason: e.to_string(),
        })
}

/// This crate as the instrumentation scope of every span.
pub(crate) fn instrumentation_scope() -> InstrumentationScope {
    InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

fn batch_processor<E>(exporter: E, counters: &Arc<SpanCounters>) -> BatchSpanProcessor
where
    E: SpanExporter + 'static,
{
    let counting = CountingExporter::new(exporter, counters.clone());
    // The SDK's default, thread-based batch processor: it does not depend on a
    // runtime being alive at shutdown, and pairs with the blocking HTTP client.
    BatchSpanProcessor::builder(counting).build()
}
