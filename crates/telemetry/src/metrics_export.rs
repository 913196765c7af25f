//! Metric exports accounted for a truthful shutdown report (how many
//! exports and data points reached the backend, how many failed), and the
//! console exporter (`OTEL_METRICS_EXPORTER=console`).

use crate::counting::LastError;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Metric export counts at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetricCounts {
    /// Export requests the backend accepted.
    pub exports: u64,
    /// Data points in those requests.
    pub data_points: u64,
    /// Export requests that failed.
    pub failed_exports: u64,
}

/// Shared counters, updated by [`CountingMetricExporter`].
#[derive(Debug, Default)]
pub(crate) struct MetricCounters {
    exports: AtomicU64,
    data_points: AtomicU64,
    failed_exports: AtomicU64,
    last_error: LastError,
}

impl MetricCounters {
    /// Current values.
    pub(crate) fn snapshot(&self) -> MetricCounts {
        MetricCounts {
            exports: self.exports.load(Ordering::Acquire),
            data_points: self.data_points.load(Ordering::Acquire),
            failed_exports: self.failed_exports.load(Ordering::Acquire),
        }
    }

    /// The most recent export error, if any export failed.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error.get()
    }
}

/// Forwards to the real exporter and counts the outcome of every export.
#[derive(Debug)]
pub(crate) struct CountingMetricExporter<E> {
    inner: E,
    counters: Arc<MetricCounters>,
}

impl<E> CountingMetricExporter<E> {
    pub(crate) fn new(inner: E, counters: Arc<MetricCounters>) -> Self {
        Self { inner, counters }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for CountingMetricExporter<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let points = data_points(metrics);
        let result = self.inner.export(metrics).await;
        match &result {
            Ok(()) => {
                self.counters.exports.fetch_add(1, Ordering::AcqRel);
                self.counters
                    .data_points
                    .fetch_add(points, Ordering::AcqRel);
            }
            Err(error) => {
                self.counters.last_error.set(error.to_string());
                self.counters.failed_exports.fetch_add(1, Ordering::AcqRel);
            }
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// The number of data points in one collection.
pub(crate) fn data_points(metrics: &ResourceMetrics) -> u64 {
    fn points<T>(data: &MetricData<T>) -> usize {
        match data {
            MetricData::Gauge(gauge) => gauge.data_points().count(),
            MetricData::Sum(sum) => sum.data_points().count(),
            MetricData::Histogram(histogram) => histogram.data_points().count(),
            MetricData::ExponentialHistogram(histogram) => histogram.data_points().count(),
        }
    }
    metrics
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .map(|metric| match metric.data() {
            AggregatedMetrics::F64(data) => points(data),
            AggregatedMetrics::U64(data) => points(data),
            AggregatedMetrics::I64(data) => points(data),
        })
        .sum::<usize>() as u64
}

/// Writes every data point as one line on standard output:
/// `name{key=value,...} value` (sums and gauges) or
/// `name{...} count=N sum=S` (histograms), cumulative.
#[derive(Debug, Default)]
pub(crate) struct ConsoleMetricExporter;

impl PushMetricExporter for ConsoleMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut text = String::new();
        for metric in metrics.scope_metrics().flat_map(|scope| scope.metrics()) {
            let written = match metric.data() {
                AggregatedMetrics::F64(data) => write_points(&mut text, metric.name(), data),
                AggregatedMetrics::U64(data) => write_points(&mut text, metric.name(), data),
                AggregatedMetrics::I64(data) => write_points(&mut text, metric.name(), data),
            };
            written.map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
        }
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| OTelSdkError::InternalFailure(format!("console: {e}")))
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

fn write_points<T: fmt::Display + Copy>(
    out: &mut String,
    name: &str,
    data: &MetricData<T>,
) -> fmt::Result {
    let labels = |attributes: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
        let pairs: Vec<String> = attributes
            .map(|kv| format!("{}={}", kv.key, kv.value))
            .collect();
        pairs.join(",")
    };
    match data {
        MetricData::Gauge(gauge) => {
            for point in gauge.data_points() {
                let attrs = labels(&mut point.attributes());
                writeln!(out, "{name}{{{attrs}}} {}", point.value())?;
            }
        }
        MetricData::Sum(sum) => {
            for point in sum.data_points() {
                let attrs = labels(&mut point.attributes());
                writeln!(out, "{name}{{{attrs}}} {}", point.value())?;
            }
        }
        MetricData::Histogram(histogram) => {
            for point in histogram.data_points() {
                let attrs = labels(&mut point.attributes());
                writeln!(
                    out,
                    "{name}{{{attrs}}} count={} sum={}",
                    point.count(),
                    point.sum()
                )?;
            }
        }
        MetricData::ExponentialHistogram(histogram) => {
            for point in histogram.data_points() {
                let attrs = labels(&mut point.attributes());
                writeln!(out, "{name}{{{attrs}}} count={}", point.count())?;
            }
        }
    }
    Ok(())
}
