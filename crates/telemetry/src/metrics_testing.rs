//! In-memory metrics for tests (feature `testing`): a meter provider whose
//! exporter keeps what it is given, cumulative like the real OTLP pipeline,
//! flattened into one record per data point for easy assertions.

use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{
    InMemoryMetricExporter, InMemoryMetricExporterBuilder, PeriodicReader, SdkMeterProvider,
    Temporality,
};

/// A meter provider exporting into memory on demand ([`Self::collect`]).
#[derive(Debug)]
pub struct InMemoryMetrics {
    exporter: InMemoryMetricExporter,
    provider: SdkMeterProvider,
}

/// One data point as collected: the metric's name and unit, the point's
/// attributes, and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectedPoint {
    /// Metric name.
    pub metric: String,
    /// Metric unit (UCUM, e.g. `s`).
    pub unit: String,
    /// The data point's attributes.
    pub attributes: Vec<KeyValue>,
    /// The value (cumulative).
    pub value: PointValue,
}

/// A data point's value.
#[derive(Debug, Clone, PartialEq)]
pub enum PointValue {
    /// Counter, up-down counter or gauge of `u64`.
    U64(u64),
    /// Counter, up-down counter or gauge of `i64`.
    I64(i64),
    /// Counter, up-down counter or gauge of `f64`.
    F64(f64),
    /// Histogram (explicit buckets; values as `f64`).
    Histogram {
        /// Recorded values.
        count: u64,
        /// Their sum.
        sum: f64,
        /// Bucket upper bounds.
        bounds: Vec<f64>,
        /// Values per bucket (one more than bounds).
        bucket_counts: Vec<u64>,
    },
}

impl Default for InMemoryMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryMetrics {
    /// A provider with cumulative temporality, as the OTLP pipeline uses.
    pub fn new() -> Self {
        let exporter = InMemoryMetricExporterBuilder::new()
            .with_temporality(Temporality::Cumulative)
            .build();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        Self { exporter, provider }
    }

    /// The meter provider (hand it to the code under test).
    pub fn provider(&self) -> &SdkMeterProvider {
        &self.provider
    }

    /// A meter of this provider.
    pub fn meter(&self, name: &'static str) -> Meter {
        self.provider.meter(name)
    }

    /// Collects now and returns every data point, cumulative since the start.
    pub fn collect(&self) -> Vec<CollectedPoint> {
        // Errors only after shutdown; no points then makes the test's
        // assertions fail with what is missing.
        let _ = self.provider.force_flush();
        let collected = self.exporter.get_finished_metrics().unwrap_or_default();
        self.exporter.reset();
        // Cumulative: the latest collection holds everything.
        collected.last().map(flatten).unwrap_or_default()
    }

    /// The data points of metric `name`.
    pub fn points(&self, name: &str) -> Vec<CollectedPoint> {
        self.collect()
            .into_iter()
            .filter(|point| point.metric == name)
            .collect()
    }
}

/// One record per data point.
fn flatten(metrics: &ResourceMetrics) -> Vec<CollectedPoint> {
    let mut points = Vec::new();
    for metric in metrics.scope_metrics().flat_map(|scope| scope.metrics()) {
        let mut push = |attributes: Vec<KeyValue>, value: PointValue| {
            points.push(CollectedPoint {
                metric: metric.name().to_owned(),
                unit: metric.unit().to_owned(),
                attributes,
                value,
            })
        };
        match metric.data() {
            AggregatedMetrics::U64(data) => each_point(data, PointValue::U64, &mut push),
            AggregatedMetrics::I64(data) => each_point(data, PointValue::I64, &mut push),
            AggregatedMetrics::F64(data) => each_point(data, PointValue::F64, &mut push),
        }
    }
    points
}

fn each_point<T: Copy + ToF64>(
    data: &MetricData<T>,
    scalar: impl Fn(T) -> PointValue,
    push: &mut impl FnMut(Vec<KeyValue>, PointValue),
) {
    let attributes =
        |iter: &mut dyn Iterator<Item = &KeyValue>| iter.cloned().collect::<Vec<KeyValue>>();
    match data {
        MetricData::Gauge(gauge) => {
            for point in gauge.data_points() {
                push(attributes(&mut point.attributes()), scalar(point.value()));
            }
        }
        MetricData::Sum(sum) => {
            for point in sum.data_points() {
                push(attributes(&mut point.attributes()), scalar(point.value()));
            }
        }
        MetricData::Histogram(histogram) => {
            for point in histogram.data_points() {
                let value = PointValue::Histogram {
                    count: point.count(),
                    sum: point.sum().to_f64(),
                    bounds: point.bounds().collect(),
                    bucket_counts: point.bucket_counts().collect(),
                };
                push(attributes(&mut point.attributes()), value);
            }
        }
        MetricData::ExponentialHistogram(histogram) => {
            for point in histogram.data_points() {
                let value = PointValue::Histogram {
                    count: point.count() as u64,
                    sum: point.sum().to_f64(),
                    bounds: Vec::new(),
                    bucket_counts: Vec::new(),
                };
                push(attributes(&mut point.attributes()), value);
            }
        }
    }
}

/// A histogram sum as `f64` whatever the instrument's number type.
trait ToF64 {
    fn to_f64(self) -> f64;
}

impl ToF64 for u64 {
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl ToF64 for i64 {
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl ToF64 for f64 {
    fn to_f64(self) -> f64 {
        self
    }
}
