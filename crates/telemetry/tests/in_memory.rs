//! The `testing` helper: spans recorded through the production layer can be
//! read back with names, parents, kinds, attributes and links.

use opentelemetry::trace::TraceContextExt;
use traced_telemetry::opentelemetry;
use traced_telemetry::testing::{FinishedSpanExt, InMemoryTelemetry, SpanKind};
use traced_telemetry::{OpenTelemetrySpanExt, SamplerConfig};

#[test]
fn records_parents_kinds_attributes_and_links() {
    let telemetry = InMemoryTelemetry::new();
    {
        let _default = telemetry.set_default();
        let earlier = tracing::info_span!("sqrt.compute", digits = 42_i64);
        earlier.in_scope(|| {});
        let earlier_context = earlier.context().span().span_context().clone();
        drop(earlier);

        let request = tracing::info_span!("sqrt.request");
        let _in_request = request.enter();
        let set = tracing::info_span!(
            "memcache.set",
            otel.kind = "client",
            db.system = "memcached",
            bytes = 128_i64
        );
        set.add_link(earlier_context);
        set.in_scope(|| {});
    }

    let spans = telemetry.finished_spans();
    assert_eq!(spans.len(), 3);
    let compute = &telemetry.spans_named("sqrt.compute")[0];
    let request = &telemetry.spans_named("sqrt.request")[0];
    let set = &telemetry.spans_named("memcache.set")[0];

    assert!(request.is_root());
    assert!(compute.is_root());
    assert!(set.is_child_of(request));
    assert!(!set.is_child_of(compute));
    assert_eq!(set.span_kind, SpanKind::Client);
    assert_eq!(request.span_kind, SpanKind::Internal);
    assert_eq!(set.attribute_str("db.system").as_deref(), Some("memcached"));
    assert_eq!(
        set.attribute("bytes"),
        Some(&opentelemetry::Value::I64(128))
    );
    assert_eq!(
        compute.attribute("digits"),
        Some(&opentelemetry::Value::I64(42))
    );
    assert!(set.links_to(compute));
    assert!(!request.links_to(compute));

    telemetry.reset();
    assert!(telemetry.finished_spans().is_empty());
}

#[test]
fn sampler_applies_to_the_in_memory_pipeline() {
    let telemetry = InMemoryTelemetry::with_sampler(SamplerConfig::AlwaysOff);
    let _default = telemetry.set_default();
    tracing::info_span!("dropped").in_scope(|| {});
    assert!(telemetry.finished_spans().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captures_spans_across_tokio_worker_threads_with_subscriber() {
    use tracing::instrument::WithSubscriber;
    use tracing::Instrument;

    let telemetry = InMemoryTelemetry::new();
    // Spans are created when the outer future is first polled, i.e. inside
    // `with_subscriber`; `with_current_subscriber` carries it to the spawned task.
    let work = async {
        async {
            let handle = tokio::spawn(
                async { tokio::task::yield_now().await }
                    .instrument(tracing::info_span!("spawned"))
                    .with_current_subscriber(),
            );
            handle.await.expect("task");
        }
        .instrument(tracing::info_span!("parent"))
        .await
    };
    work.with_subscriber(telemetry.subscriber()).await;

    let parent = &telemetry.spans_named("parent")[0];
    let spawned = &telemetry.spans_named("spawned")[0];
    assert!(spawned.is_child_of(parent));
}
