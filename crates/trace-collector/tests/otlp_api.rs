//! OTLP/HTTP intake (protobuf and JSON) over real HTTP, read back as Zipkin.

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span::SpanKind, status::StatusCode, ResourceSpans, ScopeSpans, Span, Status,
};
use prost::Message;
use trace_collector::Collector;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn request(trace_id: [u8; 16], start_ns: u64) -> ExportTraceServiceRequest {
    let root = Span {
        trace_id: trace_id.to_vec(),
        span_id: vec![1, 1, 1, 1, 1, 1, 1, 1],
        name: "sqrt.batch".into(),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: start_ns,
        end_time_unix_nano: start_ns + 3_000_000,
        attributes: vec![kv(
            "http.route",
            any_value::Value::StringValue("/sqrt".into()),
        )],
        ..Span::default()
    };
    let child = Span {
        trace_id: trace_id.to_vec(),
        span_id: vec![2, 2, 2, 2, 2, 2, 2, 2],
        parent_span_id: root.span_id.clone(),
        name: "memcache.get".into(),
        kind: SpanKind::Client as i32,
        start_time_unix_nano: start_ns + 500_000,
        end_time_unix_nano: start_ns + 1_250_000,
        attributes: vec![
            kv(
                "db.system",
                any_value::Value::StringValue("memcached".into()),
            ),
            kv("memcache.hit", any_value::Value::BoolValue(false)),
            kv("memcache.bytes", any_value::Value::IntValue(42)),
        ],
        status: Some(Status {
            code: StatusCode::Error as i32,
            message: "server error".into(),
        }),
        ..Span::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv(
                    "service.name",
                    any_value::Value::StringValue("otlp-app".into()),
                )],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "memcache-client".into(),
                    ..InstrumentationScope::default()
                }),
                spans: vec![root, child],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn check_trace(base: &str, trace_hex: &str) {
    let trace = get(base, &format!("/api/v2/trace/{trace_hex}"));
    assert_eq!(trace.status, 200, "{}", trace.text());
    let trace = trace.json();
    assert_eq!(common::names(&trace), vec!["sqrt.batch", "memcache.get"]);
    let root = &trace[0];
    assert_eq!(root["kind"], "SERVER");
    assert_eq!(root["id"], "0101010101010101");
    assert_eq!(root["localEndpoint"]["serviceName"], "otlp-app");
    assert_eq!(root["duration"], 3_000);
    let child = &trace[1];
    assert_eq!(child["parentId"], "0101010101010101");
    assert_eq!(child["kind"], "CLIENT");
    assert_eq!(child["duration"], 750);
    assert_eq!(child["tags"]["db.system"], "memcached");
    assert_eq!(child["tags"]["memcache.hit"], "false");
    assert_eq!(child["tags"]["memcache.bytes"], "42");
    assert_eq!(child["tags"]["error"], "server error");
    assert_eq!(child["tags"]["otel.scope.name"], "memcache-client");
}

fn now_ns() -> u64 {
    micros_ago(2) * 1_000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_export_is_stored_as_zipkin() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    let id = [0xab; 16];
    let reply = post(
        &collector.otlp_endpoint(),
        &[("content-type", "application/x-protobuf")],
        &request(id, now_ns()).encode_to_vec(),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.content_type, "application/x-protobuf");
    ExportTraceServiceResponse::decode(reply.body.as_slice()).expect("OTLP response");
    check_trace(&base, &"ab".repeat(16));
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_export_is_stored_as_zipkin() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    let id = [0xcd; 16];
    // The proto crate's serde encoding is OTLP/JSON: hex ids, camelCase, string int64s.
    let body = serde_json::to_vec(&request(id, now_ns())).unwrap();
    assert!(String::from_utf8_lossy(&body).contains(&"cd".repeat(16)));
    let reply = post(
        &collector.otlp_endpoint(),
        &[("content-type", "application/json")],
        &body,
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.content_type.starts_with("application/json"));
    check_trace(&base, &"cd".repeat(16));
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_protobuf_export_is_accepted() {
    use std::io::Write;
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(&request([0xef; 16], now_ns()).encode_to_vec())
        .unwrap();
    let reply = post(
        &collector.otlp_endpoint(),
        &[
            ("content-type", "application/x-protobuf"),
            ("content-encoding", "gzip"),
        ],
        &encoder.finish().unwrap(),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    check_trace(&collector.base_url(), &"ef".repeat(16));
    collector.shutdown().await.unwrap();
}
