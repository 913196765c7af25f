//! Zipkin export end to end: spans emitted through `tracing` are POSTed as
//! Zipkin JSON v2 to a local fake collector when (and because) shutdown flushes.

mod common;

use common::{dead_url, FakeCollector};
use serde_json::Value;
use traced_telemetry::{EnvVars, ExporterConfig, SamplerConfig, TelemetryGuard};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

fn zipkin_pipeline(endpoint: String) -> TelemetryGuard {
    traced_telemetry::builder("zipkin-test")
        .service_version("9.9.9")
        .env(EnvVars::default())
        .exporter(ExporterConfig::Zipkin { endpoint })
        .build()
        .expect("build pipeline")
}

/// A request span with a client child carrying tags and an event.
fn emit_spans() {
    let request = tracing::info_span!("sqrt.request", number = "9999");
    let _in_request = request.enter();
    let get = tracing::info_span!(
        "memcache.get",
        otel.kind = "client",
        db.system = "memcached",
        key = "sqrt:9999",
        hit = false
    );
    get.in_scope(|| tracing::info!("cache miss"));
}

fn spans_posted(collector: &FakeCollector) -> Vec<Value> {
    collector
        .received()
        .into_iter()
        .inspect(|req| {
            assert_eq!(req.method, "POST");
            assert_eq!(req.path, "/api/v2/spans");
            assert_eq!(req.content_type.as_deref(), Some("application/json"));
        })
        .flat_map(|req| {
            let batch: Vec<Value> = serde_json::from_slice(&req.body).expect("zipkin json");
            batch
        })
        .collect()
}

fn by_name<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    spans
        .iter()
        .find(|span| span["name"] == name)
        .unwrap_or_else(|| panic!("no span named {name} in {spans:#?}"))
}

fn assert_demo_spans(spans: &[Value]) {
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let request = by_name(spans, "sqrt.request");
    let get = by_name(spans, "memcache.get");

    assert_eq!(get["traceId"], request["traceId"]);
    assert_eq!(get["parentId"], request["id"]);
    let root_parent = request["parentId"].as_str().unwrap_or("0000000000000000");
    assert_eq!(root_parent, "0000000000000000");

    assert_eq!(get["kind"], "CLIENT");
    assert!(request.get("kind").is_none(), "internal span has no kind");
    assert_eq!(get["tags"]["db.system"], "memcached");
    assert_eq!(get["tags"]["key"], "sqrt:9999");
    assert_eq!(get["tags"]["hit"], "false");
    assert_eq!(request["tags"]["number"], "9999");
    assert_eq!(get["localEndpoint"]["serviceName"], "zipkin-test");
    assert_eq!(request["localEndpoint"]["serviceName"], "zipkin-test");
    let annotations = get["annotations"].as_array().expect("annotations");
    assert!(annotations
        .iter()
        .any(|a| a["value"].as_str().unwrap_or("").contains("cache miss")));
}

#[test]
fn shutdown_posts_all_spans_as_zipkin_json() {
    let collector = FakeCollector::start();
    let telemetry = zipkin_pipeline(collector.url("/api/v2/spans"));
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    tracing::subscriber::with_default(subscriber, emit_spans);

    let report = telemetry.shutdown().expect("complete shutdown");
    assert_eq!(report.counts.finished, 2);
    assert_eq!(report.counts.exported, 2);
    assert_eq!(report.counts.failed, 0);
    assert!(report
        .to_string()
        .starts_with("Sent all 2 finished spans to zipkin at http://127.0.0.1:"));
    assert_demo_spans(&spans_posted(&collector));
}

async fn traced_work() {
    async {
        let get = tracing::info_span!(
            "memcache.get",
            otel.kind = "client",
            db.system = "memcached",
            key = "sqrt:9999",
            hit = false
        );
        async {
            tokio::task::yield_now().await;
            tracing::info!("cache miss");
        }
        .instrument(get)
        .await;
    }
    .instrument(tracing::info_span!("sqrt.request", number = "9999"))
    .await;
}

/// Blocking shutdown on the only thread of a current-thread runtime: the export
/// must not need that runtime, or this would deadlock.
#[tokio::test(flavor = "current_thread")]
async fn blocking_shutdown_inside_current_thread_runtime_flushes() {
    let collector = FakeCollector::start();
    let telemetry = zipkin_pipeline(collector.url("/api/v2/spans"));
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    let _default = tracing::subscriber::set_default(subscriber);
    traced_work().await;

    let report = telemetry.shutdown().expect("complete shutdown");
    assert_eq!(report.counts.exported, 2);
    assert_demo_spans(&spans_posted(&collector));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_shutdown_inside_multi_thread_runtime_flushes() {
    let collector = FakeCollector::start();
    let telemetry = zipkin_pipeline(collector.url("/api/v2/spans"));
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    tracing::instrument::WithSubscriber::with_subscriber(traced_work(), subscriber).await;

    let report = telemetry.shutdown_async().await.expect("complete shutdown");
    assert_eq!(report.counts.exported, 2);
    assert_demo_spans(&spans_posted(&collector));
}

#[test]
fn unreachable_collector_is_reported_not_hidden() {
    let telemetry = zipkin_pipeline(dead_url("/api/v2/spans"));
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    tracing::subscriber::with_default(subscriber, emit_spans);

    let error = telemetry.shutdown().expect_err("nothing can be delivered");
    assert_eq!(error.report.counts.finished, 2);
    assert_eq!(error.report.counts.exported, 0);
    assert_eq!(error.report.counts.failed, 2);
    assert_eq!(error.report.unexported_spans(), 2);
    assert!(!error.report.is_complete());
    let message = error.to_string();
    assert!(
        message.starts_with("Exported 0 of 2 finished spans"),
        "{message}"
    );
    assert!(!message.contains("Sent all"), "{message}");
    assert!(message.contains("last export error"), "{message}");
}

#[test]
fn always_off_sampler_exports_nothing_and_says_so() {
    let collector = FakeCollector::start();
    let telemetry = traced_telemetry::builder("zipkin-test")
        .env(EnvVars::default())
        .exporter(ExporterConfig::Zipkin {
            endpoint: collector.url("/api/v2/spans"),
        })
        .sampler(SamplerConfig::AlwaysOff)
        .build()
        .expect("build pipeline");
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    tracing::subscriber::with_default(subscriber, emit_spans);

    let report = telemetry.shutdown().expect("nothing to fail");
    assert_eq!(report.counts.finished, 0);
    assert_eq!(report.counts.exported, 0);
    assert!(spans_posted(&collector).is_empty());
}

#[test]
fn dropping_the_guard_still_flushes() {
    let collector = FakeCollector::start();
    let telemetry = zipkin_pipeline(collector.url("/api/v2/spans"));
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    tracing::subscriber::with_default(subscriber, emit_spans);
    drop(telemetry);
    assert_demo_spans(&spans_posted(&collector));
}

#[test]
fn none_exporter_records_but_sends_nothing() {
    let telemetry = traced_telemetry::builder("bench")
        .env(EnvVars::from_pairs([("OTEL_TRACES_EXPORTER", "none")]))
        .build()
        .expect("build pipeline");
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    tracing::subscriber::with_default(subscriber, emit_spans);
    let report = telemetry.shutdown().expect("nothing to fail");
    assert_eq!(report.counts.finished, 2);
    assert_eq!(report.counts.exported, 0);
    assert_eq!(
        report.to_string(),
        "Exporter is none: 2 finished spans were not exported."
    );
}

#[test]
fn flush_delivers_without_shutting_down() {
    let collector = FakeCollector::start();
    let telemetry = zipkin_pipeline(collector.url("/api/v2/spans"));
    let subscriber = tracing::Dispatch::new(tracing_subscriber::registry().with(telemetry.layer()));
    tracing::dispatcher::with_default(&subscriber, emit_spans);
    let report = telemetry.flush().expect("flushed");
    assert_eq!(report.counts.exported, 2);
    assert_demo_spans(&spans_posted(&collector));

    // Still running: later spans go out at shutdown.
    tracing::dispatcher::with_default(&subscriber, emit_spans);
    let report = telemetry.shutdown().expect("complete shutdown");
    assert_eq!(report.counts.exported, 4);
    assert_demo_spans(&spans_posted(&collector));
}
