//! The meter provider beside the tracer: configuration from `OTEL_METRICS_*`
//! variables, OTLP/HTTP export (protobuf decoded with opentelemetry-proto,
//! and JSON) with cumulative temporality, the console exporter, a truthful
//! shutdown report, and the in-memory helper for tests.

mod common;

use common::FakeCollector;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, AggregationTemporality};
use prost::Message;
use std::time::Duration;
use traced_telemetry::opentelemetry;
use traced_telemetry::testing::{InMemoryMetrics, PointValue};
use traced_telemetry::{
    ConfigError, EnvVars, ExporterConfig, MetricsExporterConfig, OtlpProtocol, ShutdownReport,
    TelemetryConfig, TelemetryGuard,
};

fn resolve(pairs: &[(&str, &str)]) -> Result<TelemetryConfig, ConfigError> {
    traced_telemetry::builder("svc")
        .env(EnvVars::from_pairs(pairs.iter().copied()))
        .resolve()
}

#[test]
fn metrics_configuration_follows_the_environment() {
    let config = resolve(&[]).expect("valid");
    assert_eq!(config.metrics.exporter, MetricsExporterConfig::None);
    assert_eq!(config.metrics.export_interval, Duration::from_secs(60));

    let config = resolve(&[
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "1500"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "700"),
    ])
    .expect("valid");
    assert_eq!(
        config.metrics.exporter,
        MetricsExporterConfig::Otlp {
            endpoint: "http://collector:4318/v1/metrics".into(),
            protocol: OtlpProtocol::HttpJson,
        }
    );
    assert_eq!(config.metrics.export_interval, Duration::from_millis(1500));
    assert_eq!(config.metrics.export_timeout, Duration::from_millis(700));

    let config = resolve(&[
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:1/custom"),
    ])
    .expect("valid");
    assert_eq!(
        config.metrics.exporter,
        MetricsExporterConfig::Otlp {
            endpoint: "http://m:1/custom".into(),
            protocol: OtlpProtocol::HttpProtobuf,
        }
    );
    let console = resolve(&[("OTEL_METRICS_EXPORTER", "CONSOLE")]).expect("valid");
    assert_eq!(console.metrics.exporter, MetricsExporterConfig::Console);

    for (variable, value) in [
        ("OTEL_METRICS_EXPORTER", "prometheus"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "soon"),
    ] {
        let error = resolve(&[("OTEL_METRICS_EXPORTER", "console"), (variable, value)])
            .expect_err("invalid");
        assert_eq!(error.variable(), variable, "{error}");
    }
}

fn pipeline(metrics: MetricsExporterConfig) -> TelemetryGuard {
    traced_telemetry::builder("metrics-test")
        .env(EnvVars::default())
        .exporter(ExporterConfig::None)
        .metrics_exporter(metrics)
        .metric_export_interval(Duration::from_secs(3600))
        .build()
        .expect("build pipeline")
}

/// Two calls counted and timed, one of them a miss.
fn record(telemetry: &TelemetryGuard) {
    let meter = telemetry
        .meter_provider()
        .expect("a meter provider")
        .meter("metrics-test");
    let hits = meter.u64_counter("cache.lookups").build();
    let duration = meter.f64_histogram("op.duration").with_unit("s").build();
    hits.add(1, &[KeyValue::new("result", "hit")]);
    hits.add(1, &[KeyValue::new("result", "miss")]);
    hits.add(1, &[KeyValue::new("result", "hit")]);
    duration.record(0.002, &[]);
    duration.record(0.004, &[]);
}

fn metrics_report(report: &ShutdownReport) -> &traced_telemetry::MetricsReport {
    report.metrics.as_ref().expect("a metrics report")
}

#[test]
fn shutdown_exports_cumulative_metrics_as_otlp_protobuf() {
    let collector = FakeCollector::start();
    let telemetry = pipeline(MetricsExporterConfig::Otlp {
        endpoint: collector.url("/v1/metrics"),
        protocol: OtlpProtocol::HttpProtobuf,
    });
    record(&telemetry);
    let report = telemetry.shutdown().expect("complete shutdown");
    let metrics = metrics_report(&report);
    assert_eq!(metrics.counts.exports, 1, "{report}");
    assert_eq!(metrics.counts.data_points, 3, "{report}");
    assert!(
        report
            .to_string()
            .contains("Metrics: sent 3 data points in 1 exports to otlp"),
        "{report}"
    );

    let requests = collector.received();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/metrics");
    assert_eq!(
        requests[0].content_type.as_deref(),
        Some("application/x-protobuf")
    );
    let decoded =
        ExportMetricsServiceRequest::decode(requests[0].body.as_slice()).expect("protobuf");
    let all: Vec<_> = decoded
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .collect();
    let lookups = all.iter().find(|m| m.name == "cache.lookups").expect("sum");
    let Some(metric::Data::Sum(sum)) = &lookups.data else {
        panic!("not a sum: {lookups:?}")
    };
    assert!(sum.is_monotonic);
    assert_eq!(
        sum.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    let mut values: Vec<i64> = sum
        .data_points
        .iter()
        .map(|p| match p.value {
            Some(number_data_point::Value::AsInt(v)) => v,
            ref other => panic!("not an integer: {other:?}"),
        })
        .collect();
    values.sort();
    assert_eq!(values, [1, 2]);
    let duration = all
        .iter()
        .find(|m| m.name == "op.duration")
        .expect("histogram");
    assert_eq!(duration.unit, "s");
    let Some(metric::Data::Histogram(histogram)) = &duration.data else {
        panic!("not a histogram: {duration:?}")
    };
    assert_eq!(
        histogram.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    assert_eq!(histogram.data_points[0].count, 2);
}

#[test]
fn shutdown_exports_metrics_as_otlp_json() {
    let collector = FakeCollector::start();
    let telemetry = pipeline(MetricsExporterConfig::Otlp {
        endpoint: collector.url("/v1/metrics"),
        protocol: OtlpProtocol::HttpJson,
    });
    record(&telemetry);
    telemetry.shutdown().expect("complete shutdown");
    let requests = collector.received();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].content_type.as_deref(),
        Some("application/json")
    );
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).expect("json");
    let mut names: Vec<&str> = body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["cache.lookups", "op.duration"]);
}

#[test]
fn an_unreachable_collector_is_reported() {
    // A port nobody listens on: bind, learn it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let telemetry = traced_telemetry::builder("metrics-test")
        .env(EnvVars::default())
        .exporter(ExporterConfig::None)
        .metrics_exporter(MetricsExporterConfig::Otlp {
            endpoint: format!("http://127.0.0.1:{port}/v1/metrics"),
            protocol: OtlpProtocol::HttpProtobuf,
        })
        .export_timeout(Duration::from_secs(2))
        .build()
        .expect("build pipeline");
    record(&telemetry);
    let error = telemetry.shutdown().expect_err("incomplete shutdown");
    let metrics = metrics_report(&error.report);
    assert_eq!(metrics.counts.exports, 0);
    assert!(metrics.counts.failed_exports >= 1 || metrics.failure.is_some());
    let message = error.to_string();
    assert!(message.contains("Metrics: sent 0 data points"), "{message}");
    assert!(!metrics.is_complete());
}

#[test]
fn the_console_exporter_counts_what_it_printed() {
    let telemetry = pipeline(MetricsExporterConfig::Console);
    record(&telemetry);
    let report = telemetry.shutdown().expect("complete shutdown");
    let metrics = metrics_report(&report);
    assert_eq!(metrics.counts.data_points, 3);
    assert!(metrics.is_complete());
}

#[test]
fn without_a_metrics_exporter_there_is_no_meter_provider() {
    let telemetry = pipeline(MetricsExporterConfig::None);
    assert!(telemetry.meter_provider().is_none());
    let report = telemetry.shutdown().expect("complete shutdown");
    assert!(report.metrics.is_none());
    assert!(!report.to_string().contains("Metrics"));
}

#[test]
fn in_memory_metrics_flatten_points_with_attributes() {
    let metrics = InMemoryMetrics::new();
    let meter = metrics.meter("test");
    let lookups = meter.u64_counter("cache.lookups").build();
    lookups.add(2, &[KeyValue::new("result", "hit")]);
    lookups.add(1, &[KeyValue::new("result", "miss")]);
    let mut points = metrics.points("cache.lookups");
    points.sort_by_key(|p| format!("{:?}", p.attributes));
    assert_eq!(points.len(), 2);
    assert_eq!(points[0].attributes, [KeyValue::new("result", "hit")]);
    assert_eq!(points[0].value, PointValue::U64(2));
    assert_eq!(points[1].value, PointValue::U64(1));
    // Cumulative: a later collection still counts the earlier additions.
    lookups.add(1, &[KeyValue::new("result", "miss")]);
    let miss = metrics
        .points("cache.lookups")
        .into_iter()
        .find(|p| p.attributes == [KeyValue::new("result", "miss")])
        .expect("miss");
    assert_eq!(miss.value, PointValue::U64(2));
    let duration = metrics.meter("test").f64_histogram("op.duration").build();
    duration.record(0.5, &[]);
    let histogram = &metrics.points("op.duration")[0];
    let PointValue::Histogram { count, sum, .. } = histogram.value else {
        panic!("not a histogram: {histogram:?}")
    };
    assert_eq!((count, sum), (1, 0.5));
}
