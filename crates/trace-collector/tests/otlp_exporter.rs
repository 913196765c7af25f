//! The real `opentelemetry-otlp` 0.33 HTTP exporter, in both protobuf and
//! JSON encodings, sends spans to `/v1/traces` and they come back as Zipkin
//! spans carrying the resource's service name.

mod common;

use std::time::Duration;

use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use trace_collector::{wait_for_trace, Collector, Kind, TraceFilter};

/// Emits `root` with one failing client child through an OTLP exporter.
fn emit(endpoint: String, protocol: Protocol, service: &'static str, root: &'static str) {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(common::otel_http::UreqClient::new())
        .with_endpoint(endpoint)
        .with_protocol(protocol)
        .build()
        .expect("exporter");
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build();
    let tracer = provider.tracer("otlp-exporter-test");
    tracer.in_span(root, |_cx| {
        let mut child = tracer
            .span_builder("memcache.set")
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("db.system", "memcached"),
                KeyValue::new("memcache.bytes", 128_i64),
                KeyValue::new("peer.service", "memcached"),
            ])
            .start(&tracer);
        child.set_status(Status::error("NOT_STORED"));
        child.end();
    });
    provider.shutdown().expect("flush");
}

async fn round_trip(protocol: Protocol, service: &'static str, root: &'static str) {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let endpoint = collector.otlp_endpoint();
    tokio::task::spawn_blocking(move || emit(endpoint, protocol, service, root))
        .await
        .unwrap();
    let base = collector.base_url();
    let spans = tokio::task::spawn_blocking(move || {
        wait_for_trace(
            &base,
            &TraceFilter::service(service),
            Duration::from_secs(10),
        )
    })
    .await
    .unwrap()
    .expect("trace arrives");
    assert_eq!(spans.len(), 2);
    let parent = spans
        .iter()
        .find(|s| s.name.as_deref() == Some(root))
        .unwrap();
    let child = spans
        .iter()
        .find(|s| s.name.as_deref() == Some("memcache.set"))
        .unwrap();
    assert_eq!(parent.service_name(), Some(service));
    assert_eq!(parent.parent_id, None);
    assert_eq!(child.parent_id.as_deref(), Some(parent.id.as_str()));
    assert_eq!(child.kind, Some(Kind::Client));
    assert_eq!(child.remote_service_name(), Some("memcached"));
    assert_eq!(child.tags["memcache.bytes"], "128");
    assert_eq!(child.tags["error"], "NOT_STORED");
    assert_eq!(child.tags["otel.scope.name"], "otlp-exporter-test");
    assert_eq!(parent.trace_id.len(), 32);
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_protobuf_exporter_round_trip() {
    round_trip(Protocol::HttpBinary, "otlp-proto-app", "sqrt.batch.proto").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_json_exporter_round_trip() {
    round_trip(Protocol::HttpJson, "otlp-json-app", "sqrt.batch.json").await;
}
