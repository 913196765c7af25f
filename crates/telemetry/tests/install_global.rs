//! Global installation (one per process, hence its own test binary): spans from
//! any tokio worker reach the exporter, shutdown inside the runtime flushes, and
//! a second installation is refused with a typed error.

mod common;

use common::FakeCollector;
use traced_telemetry::{EnvVars, TelemetryError};
use tracing::Instrument;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installed_pipeline_exports_spans_from_all_workers() {
    let collector = FakeCollector::start();
    let env = EnvVars::from_pairs([
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        (
            "OTEL_EXPORTER_ZIPKIN_ENDPOINT",
            collector.url("/api/v2/spans").as_str(),
        ),
        ("OTEL_SERVICE_NAME", "global-test"),
        ("OTEL_TRACES_SAMPLER", "parentbased_always_on"),
    ]);
    let telemetry = traced_telemetry::builder("unused")
        .env(env.clone())
        .install()
        .expect("first install");

    let tasks: Vec<_> = (0..4)
        .map(|i| {
            tokio::spawn(
                async move { tokio::task::yield_now().await }
                    .instrument(tracing::info_span!("worker.task", index = i)),
            )
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }

    let again = traced_telemetry::builder("unused").env(env).install();
    assert!(matches!(
        again,
        Err(TelemetryError::SubscriberAlreadySet(_))
    ));

    // Blocking shutdown on a runtime worker: must neither deadlock nor lose spans.
    let report = telemetry.shutdown().expect("complete shutdown");
    assert_eq!(report.counts.finished, 4);
    assert_eq!(report.counts.exported, 4);

    let spans: Vec<serde_json::Value> = collector
        .received()
        .iter()
        .flat_map(|req| serde_json::from_slice::<Vec<serde_json::Value>>(&req.body).expect("json"))
        .collect();
    assert_eq!(spans.len(), 4);
    let mut indexes: Vec<String> = spans
        .iter()
        .map(|span| {
            assert_eq!(span["name"], "worker.task");
            assert_eq!(span["localEndpoint"]["serviceName"], "global-test");
            span["tags"]["index"]
                .as_str()
                .expect("index tag")
                .to_owned()
        })
        .collect();
    indexes.sort();
    assert_eq!(indexes, ["0", "1", "2", "3"]);
}
