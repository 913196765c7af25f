//! OTLP metrics (`POST /v1/metrics`) read into a small model the query
//! endpoint serves: one series per metric name, resource, scope and point
//! attributes, each holding its latest points.
//!
//! Values keep what OTLP says: gauges and sums as numbers (sums with their
//! monotonicity and temporality), histograms with count, sum, min, max,
//! bucket counts and explicit bounds, exponential histograms with scale and
//! both bucket ranges, summaries with their quantiles. Exemplars are dropped.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    AggregationTemporality,
};
use prost::Message as _;
use serde::Serialize;

use crate::otlp::attributes_json;

/// Why an OTLP metrics payload could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Not a valid protobuf `ExportMetricsServiceRequest`.
    #[error("invalid OTLP metrics protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// Not a valid OTLP/JSON `ExportMetricsServiceRequest`.
    #[error("invalid OTLP metrics JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// One quantile of a summary point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantile {
    /// Between 0 and 1.
    pub quantile: f64,
    /// The value at that quantile.
    pub value: f64,
}

/// What one data point measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum PointValue {
    /// A sampled value.
    #[serde(rename_all = "camelCase")]
    Gauge {
        /// The value (integers as floats).
        value: f64,
    },
    /// A sum over time.
    #[serde(rename_all = "camelCase")]
    Sum {
        /// The value (integers as floats).
        value: f64,
        /// Whether the sum only grows.
        monotonic: bool,
        /// `cumulative`, `delta` or `unspecified`.
        temporality: &'static str,
    },
    /// A histogram with explicit bucket bounds.
    #[serde(rename_all = "camelCase")]
    Histogram {
        /// Values recorded.
        count: u64,
        /// Their sum, if reported.
        sum: Option<f64>,
        /// Smallest value, if reported.
        min: Option<f64>,
        /// Largest value, if reported.
        max: Option<f64>,
        /// Counts per bucket (one more than the bounds).
        bucket_counts: Vec<u64>,
        /// Upper bounds of all but the last bucket.
        explicit_bounds: Vec<f64>,
        /// `cumulative`, `delta` or `unspecified`.
        temporality: &'static str,
    },
    /// A base-2 exponential histogram.
    #[serde(rename_all = "camelCase")]
    ExponentialHistogram {
        /// Values recorded.
        count: u64,
        /// Their sum, if reported.
        sum: Option<f64>,
        /// Smallest value, if reported.
        min: Option<f64>,
        /// Largest value, if reported.
        max: Option<f64>,
        /// Resolution: bucket bounds are powers of `2^(2^-scale)`.
        scale: i32,
        /// Values counted as zero.
        zero_count: u64,
        /// Index of the first positive bucket.
        positive_offset: i32,
        /// Counts of the positive buckets.
        positive: Vec<u64>,
        /// Index of the first negative bucket.
        negative_offset: i32,
        /// Counts of the negative buckets.
        negative: Vec<u64>,
        /// `cumulative`, `delta` or `unspecified`.
        temporality: &'static str,
    },
    /// Precomputed quantiles.
    #[serde(rename_all = "camelCase")]
    Summary {
        /// Values recorded.
        count: u64,
        /// Their sum.
        sum: f64,
        /// The quantiles reported.
        quantiles: Vec<Quantile>,
    },
}

/// One data point.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    /// Start of the aggregation window (0 if not given), Unix nanoseconds.
    pub start_time_unix_nano: u64,
    /// When the point was taken, Unix nanoseconds.
    pub time_unix_nano: u64,
    /// The measurement.
    #[serde(flatten)]
    pub value: PointValue,
}

impl Point {
    /// Estimated memory of the point.
    pub fn approx_bytes(&self) -> usize {
        let heap = match &self.value {
            PointValue::Histogram {
                bucket_counts,
                explicit_bounds,
                ..
            } => 8 * (bucket_counts.len() + explicit_bounds.len()),
            PointValue::ExponentialHistogram {
                positive, negative, ..
            } => 8 * (positive.len() + negative.len()),
            PointValue::Summary { quantiles, .. } => 16 * quantiles.len(),
            _ => 0,
        };
        std::mem::size_of::<Point>() + heap + 32
    }
}

/// Which series a point belongs to, with the series' description.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesId {
    /// Metric name.
    pub name: String,
    /// Metric description.
    pub description: String,
    /// Metric unit (UCUM, as sent).
    pub unit: String,
    /// Resource attributes.
    pub resource: serde_json::Value,
    /// Instrumentation scope name.
    pub scope: String,
    /// The point's own attributes.
    pub attributes: serde_json::Value,
}

impl SeriesId {
    /// A key naming the series: equal ids give equal keys.
    pub fn key(&self) -> String {
        format!(
            "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            self.name, self.unit, self.resource, self.scope, self.attributes
        )
    }
}

fn temporality(code: i32) -> &'static str {
    match AggregationTemporality::try_from(code) {
        Ok(AggregationTemporality::Cumulative) => "cumulative",
        Ok(AggregationTemporality::Delta) => "delta",
        _ => "unspecified",
    }
}

fn number(value: Option<number_data_point::Value>) -> f64 {
    match value {
        Some(number_data_point::Value::AsDouble(d)) => d,
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        None => 0.0,
    }
}

fn buckets(b: Option<Buckets>) -> (i32, Vec<u64>) {
    b.map_or((0, Vec::new()), |b| (b.offset, b.bucket_counts))
}

/// Decodes a protobuf `ExportMetricsServiceRequest` into points.
pub fn points_from_protobuf(body: &[u8]) -> Result<Vec<(SeriesId, Point)>, MetricsError> {
    Ok(to_points(ExportMetricsServiceRequest::decode(body)?))
}

/// Decodes an OTLP/JSON `ExportMetricsServiceRequest` into points.
pub fn points_from_json(body: &[u8]) -> Result<Vec<(SeriesId, Point)>, MetricsError> {
    Ok(to_points(serde_json::from_slice(body)?))
}

/// Every data point of a request, with the series it belongs to.
pub fn to_points(request: ExportMetricsServiceRequest) -> Vec<(SeriesId, Point)> {
    let mut out = Vec::new();
    for resource_metrics in request.resource_metrics {
        let resource = attributes_json(
            &resource_metrics
                .resource
                .map(|r| r.attributes)
                .unwrap_or_default(),
        );
        for scope_metrics in resource_metrics.scope_metrics {
            let scope = scope_metrics.scope.map(|s| s.name).unwrap_or_default();
            for mut metric in scope_metrics.metrics {
                let data = metric.data.take();
                let id = |attributes: &[KeyValue]| SeriesId {
                    name: metric.name.clone(),
                    description: metric.description.clone(),
                    unit: metric.unit.clone(),
                    resource: resource.clone(),
                    scope: scope.clone(),
                    attributes: attributes_json(attributes),
                };
                let point = |start, time, value| Point {
                    start_time_unix_nano: start,
                    time_unix_nano: time,
                    value,
                };
                match data {
                    None => {}
                    Some(Data::Gauge(g)) => out.extend(g.data_points.into_iter().map(|p| {
                        let value = PointValue::Gauge {
                            value: number(p.value),
                        };
                        (
                            id(&p.attributes),
                            point(p.start_time_unix_nano, p.time_unix_nano, value),
                        )
                    })),
                    Some(Data::Sum(s)) => out.extend(s.data_points.into_iter().map(|p| {
                        let value = PointValue::Sum {
                            value: number(p.value),
                            monotonic: s.is_monotonic,
                            temporality: temporality(s.aggregation_temporality),
                        };
                        (
                            id(&p.attributes),
                            point(p.start_time_unix_nano, p.time_unix_nano, value),
                        )
                    })),
                    Some(Data::Histogram(h)) => out.extend(h.data_points.into_iter().map(|p| {
                        let value = PointValue::Histogram {
                            count: p.count,
                            sum: p.sum,
                            min: p.min,
                            max: p.max,
                            bucket_counts: p.bucket_counts,
                            explicit_bounds: p.explicit_bounds,
                            temporality: temporality(h.aggregation_temporality),
                        };
                        (
                            id(&p.attributes),
                            point(p.start_time_unix_nano, p.time_unix_nano, value),
                        )
                    })),
                    Some(Data::ExponentialHistogram(h)) => {
                        out.extend(h.data_points.into_iter().map(|p| {
                            let (positive_offset, positive) = buckets(p.positive);
                            let (negative_offset, negative) = buckets(p.negative);
                            let value = PointValue::ExponentialHistogram {
                                count: p.count,
                                sum: p.sum,
                                min: p.min,
                                max: p.max,
                                scale: p.scale,
                                zero_count: p.zero_count,
                                positive_offset,
                                positive,
                                negative_offset,
                                negative,
                                temporality: temporality(h.aggregation_temporality),
                            };
                            (
                                id(&p.attributes),
                                point(p.start_time_unix_nano, p.time_unix_nano, value),
                            )
                        }))
                    }
                    Some(Data::Summary(s)) => out.extend(s.data_points.into_iter().map(|p| {
                        let value = PointValue::Summary {
                            count: p.count,
                            sum: p.sum,
                            quantiles: p
                                .quantile_values
                                .iter()
                                .map(|q| Quantile {
                                    quantile: q.quantile,
                                    value: q.value,
                                })
                                .collect(),
                        };
                        (
                            id(&p.attributes),
                            point(p.start_time_unix_nano, p.time_unix_nano, value),
                        )
                    })),
                }
            }
        }
    }
    out
}
