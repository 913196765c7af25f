//! Failing collectors: shutdown stays bounded by the configured timeouts and
//! reports the spans it could not deliver instead of claiming success.

mod common;

use common::{dead_url, hanging_url};
use std::time::Duration;
use traced_telemetry::{EnvVars, ExporterConfig, OtlpProtocol, TelemetryGuard};
use tracing_subscriber::layer::SubscriberExt;

fn pipeline(exporter: ExporterConfig) -> TelemetryGuard {
    traced_telemetry::builder("failure-test")
        .env(EnvVars::default())
        .exporter(exporter)
        .export_timeout(Duration::from_millis(300))
        .shutdown_timeout(Duration::from_secs(10))
        .build()
        .expect("build pipeline")
}

fn emit_two_spans(telemetry: &TelemetryGuard) {
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!("outer").in_scope(|| tracing::info_span!("inner").in_scope(|| {}));
    });
}

#[test]
fn hanging_zipkin_collector_times_out_and_is_reported() {
    let telemetry = pipeline(ExporterConfig::Zipkin {
        endpoint: hanging_url("/api/v2/spans"),
    });
    emit_two_spans(&telemetry);
    let error = telemetry.shutdown().expect_err("collector never answers");
    assert_eq!(error.report.counts.finished, 2);
    assert_eq!(error.report.counts.exported, 0);
    assert_eq!(error.report.counts.failed, 2);
}

#[test]
fn unreachable_otlp_collector_is_reported() {
    let telemetry = pipeline(ExporterConfig::Otlp {
        endpoint: dead_url("/v1/traces"),
        protocol: OtlpProtocol::HttpProtobuf,
    });
    emit_two_spans(&telemetry);
    let error = telemetry.shutdown().expect_err("nobody listens");
    assert_eq!(error.report.counts.exported, 0);
    assert_eq!(error.report.counts.failed, 2);
    assert!(error
        .to_string()
        .starts_with("Exported 0 of 2 finished spans to otlp"));
}

#[tokio::test(flavor = "current_thread")]
async fn failing_shutdown_inside_a_runtime_returns_instead_of_hanging() {
    let telemetry = pipeline(ExporterConfig::Zipkin {
        endpoint: hanging_url("/api/v2/spans"),
    });
    emit_two_spans(&telemetry);
    let error = telemetry
        .shutdown_async()
        .await
        .expect_err("never answered");
    assert_eq!(error.report.counts.failed, 2);
}
