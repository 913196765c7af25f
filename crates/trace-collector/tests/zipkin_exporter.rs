//! The real `opentelemetry-zipkin` 0.33 exporter sends spans to the collector
//! and they come back through the query API: proof that the JSON it produces
//! is what the collector reads.
//!
//! That exporter is deprecated upstream in favour of OTLP, and 0.33 sends no
//! `localEndpoint.serviceName` (it ignores the resource); the collector takes
//! the service from a `service.name` span attribute instead, as tested here.
#![allow(deprecated)]

mod common;

use std::time::Duration;

use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt, Tracer, TracerProvider as _,
};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use trace_collector::{wait_for_trace, Collector, TraceFilter};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_from_opentelemetry_zipkin_round_trip() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    let endpoint = collector.zipkin_endpoint();

    // The SDK exports on span end from this (non-runtime) thread.
    let trace_id = tokio::task::spawn_blocking(move || {
        let exporter = opentelemetry_zipkin::ZipkinExporter::builder()
            .with_collector_endpoint(endpoint)
            .with_http_client(common::otel_http::UreqClient::new())
            .build()
            .expect("exporter");
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter)
            .with_resource(
                Resource::builder()
                    .with_service_name("zipkin-exporter-test")
                    .build(),
            )
            .build();
        let tracer = provider.tracer("trace-collector-test");
        let root = tracer
            .span_builder("sqrt.request")
            .with_kind(SpanKind::Server)
            .with_attributes([KeyValue::new("service.name", "zipkin-exporter-test")])
            .start(&tracer);
        let cx = opentelemetry::Context::current_with_span(root);
        let trace_id = {
            let _attached = cx.clone().attach();
            let mut child = tracer
                .span_builder("memcache.get")
                .with_kind(SpanKind::Client)
                .with_attributes([
                    KeyValue::new("db.system", "memcached"),
                    KeyValue::new("memcache.key", "sqrt:9"),
                    KeyValue::new("memcache.value_len", 17_i64),
                ])
                .start(&tracer);
            child.add_event("cache miss", vec![]);
            child.set_status(Status::error("timed out"));
            child.end();
            cx.span().span_context().trace_id().to_string()
        };
        cx.span().end();
        provider.shutdown().expect("flush");
        trace_id
    })
    .await
    .unwrap();

    let filter = TraceFilter::root("sqrt.request");
    let found = tokio::task::spawn_blocking(move || {
        wait_for_trace(&base, &filter, Duration::from_secs(10))
    })
    .await
    .unwrap()
    .expect("trace arrives");
    assert_eq!(found[0].trace_id, trace_id);
    let root = found
        .iter()
        .find(|s| s.name.as_deref() == Some("sqrt.request"))
        .unwrap();
    let child = found
        .iter()
        .find(|s| s.name.as_deref() == Some("memcache.get"))
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(child.parent_id.as_deref(), Some(root.id.as_str()));
    assert_eq!(child.kind, Some(trace_collector::Kind::Client));
    assert_eq!(root.service_name(), Some("zipkin-exporter-test"));
    assert_eq!(root.kind, Some(trace_collector::Kind::Server));
    assert_eq!(
        root.parent_id, None,
        "the exporter's all-zero parent id means none"
    );
    assert_eq!(child.tags["db.system"], "memcached");
    assert_eq!(child.tags["memcache.value_len"], "17");
    assert_eq!(child.tags["error"], "timed out");
    assert_eq!(child.annotations[0].value, "cache miss");
    assert!(root.duration.unwrap_or(0) >= child.duration.unwrap_or(0));
    collector.shutdown().await.unwrap();
}
