//! What the OpenTelemetry layer makes of `tracing` spans beyond names and
//! parents: status and kind fields, integer and repeated fields, events,
//! links, the current OpenTelemetry context, remote parents, sampling, and
//! `OpenTelemetrySpanExt` on spans of either layer.

use opentelemetry::trace::{
    SpanContext, SpanId, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
    TracerProvider as _,
};
use opentelemetry::{Context, Value};
use traced_telemetry::opentelemetry;
use traced_telemetry::opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use traced_telemetry::testing::{FinishedSpanExt, InMemoryTelemetry, SpanKind};
use traced_telemetry::{OpenTelemetrySpanExt, SamplerConfig};
use tracing_subscriber::layer::SubscriberExt;

fn remote_parent(sampled: bool) -> SpanContext {
    SpanContext::new(
        TraceId::from_bytes([7; 16]),
        SpanId::from_bytes([3; 8]),
        if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        },
        true,
        TraceState::default(),
    )
}

#[test]
fn status_kind_and_name_fields_steer_the_span() {
    let telemetry = InMemoryTelemetry::new();
    {
        let _default = telemetry.set_default();
        let failed = tracing::info_span!(
            "op",
            otel.name = "renamed",
            otel.kind = "SERVER",
            otel.status_code = tracing::field::Empty,
            otel.status_message = tracing::field::Empty,
        );
        failed.record("otel.status_code", "ERROR");
        failed.record("otel.status_message", "connection reset");
        drop(failed);
        tracing::info_span!("fine", otel.status_code = "OK").in_scope(|| {});
    }
    let failed = &telemetry.spans_named("renamed")[0];
    assert_eq!(failed.span_kind, SpanKind::Server);
    assert_eq!(
        failed.status,
        Status::Error {
            description: "connection reset".into()
        }
    );
    assert!(failed.attribute("otel.status_code").is_none());
    assert!(failed.attribute("otel.kind").is_none());
    assert_eq!(telemetry.spans_named("fine")[0].status, Status::Ok);
}

#[test]
fn integers_stay_integers_and_a_field_recorded_twice_is_one_attribute() {
    let telemetry = InMemoryTelemetry::new();
    {
        let _default = telemetry.set_default();
        let span = tracing::info_span!(
            "op",
            size = 5_u64,
            huge = u64::MAX,
            hit = tracing::field::Empty
        );
        span.record("hit", false);
        span.record("hit", true);
    }
    let span = &telemetry.spans_named("op")[0];
    assert_eq!(span.attribute("size"), Some(&Value::I64(5)));
    assert_eq!(span.attribute_str("huge"), Some(u64::MAX.to_string()));
    let hits: Vec<_> = span
        .attributes
        .iter()
        .filter(|kv| kv.key.as_str() == "hit")
        .collect();
    assert_eq!(hits.len(), 1, "{:?}", span.attributes);
    assert_eq!(hits[0].value, Value::Bool(true));
}

#[test]
fn events_links_and_error_events() {
    let telemetry = InMemoryTelemetry::new();
    {
        let _default = telemetry.set_default();
        let earlier = tracing::info_span!("earlier");
        let span = tracing::info_span!("op");
        span.follows_from(&earlier);
        span.in_scope(|| {
            tracing::info!(attempt = 2_i64, "cache miss");
            tracing::error!("gave up");
        });
        drop(span);
        drop(earlier);
    }
    let earlier = &telemetry.spans_named("earlier")[0];
    let span = &telemetry.spans_named("op")[0];
    assert!(span.links_to(earlier));
    let names: Vec<_> = span.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(names, ["cache miss", "gave up"]);
    let miss = &span.events[0];
    assert!(miss
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == "attempt" && kv.value == Value::I64(2)));
    assert!(matches!(span.status, Status::Error { .. }));
}

#[test]
fn an_entered_span_is_the_current_opentelemetry_context() {
    let telemetry = InMemoryTelemetry::new();
    let _default = telemetry.set_default();
    let span = tracing::info_span!("op");
    let expected = span.context().span().span_context().clone();
    assert!(expected.is_valid() && expected.is_sampled());
    span.in_scope(|| {
        let current = Context::current();
        assert_eq!(current.span().span_context(), &expected);
    });
    assert!(!Context::current().has_active_span());
}

#[test]
fn an_attached_remote_context_parents_new_root_spans() {
    let telemetry = InMemoryTelemetry::new();
    {
        let _default = telemetry.set_default();
        let remote = Context::new().with_remote_span_context(remote_parent(true));
        let _attached = remote.attach();
        tracing::info_span!("server").in_scope(|| {
            tracing::info_span!("inner").in_scope(|| {});
        });
    }
    let server = &telemetry.spans_named("server")[0];
    let inner = &telemetry.spans_named("inner")[0];
    assert_eq!(server.span_context.trace_id(), TraceId::from_bytes([7; 16]));
    assert_eq!(server.parent_span_id, SpanId::from_bytes([3; 8]));
    assert!(server.parent_span_is_remote);
    assert!(inner.is_child_of(server));
    assert!(!inner.parent_span_is_remote);
}

#[test]
fn set_parent_re_parents_and_re_samples() {
    let telemetry = InMemoryTelemetry::with_sampler(SamplerConfig::ParentBasedAlwaysOff);
    {
        let _default = telemetry.set_default();
        let unsampled_root = tracing::info_span!("root");
        assert!(!unsampled_root.context().span().span_context().is_sampled());
        drop(unsampled_root);

        let adopted = tracing::info_span!("adopted");
        let remote = Context::new().with_remote_span_context(remote_parent(true));
        adopted.set_parent(remote).expect("our layer");
        adopted.in_scope(|| tracing::info_span!("child").in_scope(|| {}));
    }
    assert!(telemetry.spans_named("root").is_empty());
    let adopted = &telemetry.spans_named("adopted")[0];
    assert_eq!(adopted.parent_span_id, SpanId::from_bytes([3; 8]));
    assert_eq!(
        adopted.span_context.trace_id(),
        TraceId::from_bytes([7; 16])
    );
    assert!(telemetry.spans_named("child")[0].is_child_of(adopted));
}

#[test]
fn unsampled_spans_still_carry_a_trace_for_their_children() {
    let telemetry = InMemoryTelemetry::with_sampler(SamplerConfig::ParentBasedAlwaysOn);
    {
        let _default = telemetry.set_default();
        let remote = Context::new().with_remote_span_context(remote_parent(false));
        let _attached = remote.attach();
        let span = tracing::info_span!("dropped");
        let context = span.context();
        let span_context = context.span().span_context().clone();
        assert_eq!(span_context.trace_id(), TraceId::from_bytes([7; 16]));
        assert!(span_context.is_valid() && !span_context.is_sampled());
        span.in_scope(|| tracing::info_span!("dropped child").in_scope(|| {}));
    }
    assert!(telemetry.finished_spans().is_empty());
}

#[test]
fn trace_id_ratio_keeps_about_that_share_of_traces() {
    let telemetry = InMemoryTelemetry::with_sampler(SamplerConfig::TraceIdRatio(0.25));
    {
        let _default = telemetry.set_default();
        for _ in 0..4000 {
            tracing::info_span!("maybe").in_scope(|| {
                tracing::info_span!("child").in_scope(|| {});
            });
        }
    }
    let kept = telemetry.spans_named("maybe").len();
    assert!((800..1200).contains(&kept), "kept {kept} of 4000");
    // A ratio sampler ignores the parent but decides by trace id, so a
    // child is kept exactly when its root is.
    assert_eq!(telemetry.spans_named("child").len(), kept);
}

#[test]
fn the_span_extension_also_works_under_tracing_opentelemetrys_layer() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let bridge = traced_telemetry::tracing_opentelemetry::layer().with_tracer(provider.tracer("t"));
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(bridge));
    let earlier = tracing::info_span!("earlier");
    let earlier_context = earlier.context().span().span_context().clone();
    assert!(earlier_context.is_valid());
    drop(earlier);
    let span = tracing::info_span!("op");
    span.add_link(earlier_context.clone());
    drop(span);
    let spans = exporter.get_finished_spans().expect("spans");
    let op = spans.iter().find(|s| s.name == "op").expect("op");
    assert_eq!(op.links.links[0].span_context, earlier_context);
}

#[test]
fn without_context_activation_parents_come_from_tracing() {
    let telemetry = InMemoryTelemetry::new();
    let subscriber =
        tracing_subscriber::registry().with(telemetry.layer().with_context_activation(false));
    tracing::subscriber::with_default(subscriber, || {
        let remote = Context::new().with_remote_span_context(remote_parent(true));
        let _attached = remote.attach();
        tracing::info_span!("server").in_scope(|| {
            // Not the current OpenTelemetry context: the remote one still is.
            assert_eq!(
                Context::current().span().span_context().span_id(),
                SpanId::from_bytes([3; 8])
            );
            tracing::info_span!("inner").in_scope(|| {});
        });
    });
    let server = &telemetry.spans_named("server")[0];
    assert_eq!(server.parent_span_id, SpanId::from_bytes([3; 8]));
    assert!(telemetry.spans_named("inner")[0].is_child_of(server));
}
