//! The same spans, exported by the OpenTelemetry Python SDK (1.45) once as
//! OTLP protobuf and once by its Zipkin JSON exporter (fixtures generated
//! by `tests/fixtures/make_fixture.py`): OTLP posted here must come out as
//! the Zipkin exporter wrote them, event attributes, resource attributes,
//! scope and status included, plus the links Zipkin's exporter drops.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;
use trace_collector::Collector;

const OTLP: &[u8] = include_bytes!("fixtures/python_sdk_spans.otlp.pb");
const ZIPKIN: &str = include_str!("fixtures/python_sdk_spans.zipkin.json");

/// What the Python SDK's Zipkin exporter wrote.
fn expected() -> Vec<Value> {
    serde_json::from_str(ZIPKIN).unwrap()
}

/// The fixture's trace id.
fn trace_id() -> String {
    expected()[0]["traceId"].as_str().unwrap().to_owned()
}

/// Posts `body` to `/v1/traces` as `content_type` and returns the fixture's
/// trace as the collector serves it.
fn post_and_fetch(base: &str, content_type: &str, body: &[u8]) -> Value {
    let reply = post(
        &format!("{base}/v1/traces"),
        &[("content-type", content_type)],
        body,
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    get(base, &format!("/api/v2/trace/{}", trace_id())).json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_from_the_python_sdk_matches_its_zipkin_exporter() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    let served = post_and_fetch(&base, "application/x-protobuf", OTLP);
    zipkin_schema::trace(&served).unwrap();
    let expected = expected();
    let served: BTreeMap<&str, &Value> = served
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s))
        .collect();
    assert_eq!(served.len(), expected.len());
    for want in &expected {
        let name = want["name"].as_str().unwrap();
        let got = served[want["id"].as_str().unwrap()];
        for field in [
            "traceId",
            "parentId",
            "name",
            "timestamp",
            "duration",
            "localEndpoint",
        ] {
            assert_eq!(got.get(field), want.get(field), "{name}: {field}");
        }
        // Python writes `"kind": null` for internal spans; Zipkin omits it.
        assert_eq!(
            got.get("kind").unwrap_or(&Value::Null),
            &want["kind"],
            "{name}: kind"
        );
        assert_eq!(
            got.get("annotations"),
            want.get("annotations"),
            "{name}: annotations"
        );
        let got_tags = got["tags"].as_object().unwrap();
        for (key, value) in want["tags"].as_object().unwrap() {
            assert_eq!(got_tags.get(key), Some(value), "{name}: tag {key}");
        }
        let extra: Vec<&String> = got_tags
            .keys()
            .filter(|k| !want["tags"].as_object().unwrap().contains_key(*k))
            .collect();
        let expected_extra: Vec<&str> = if name == "child" {
            vec![
                "otel.link.0.attributes",
                "otel.link.0.span_id",
                "otel.link.0.trace_id",
            ]
        } else {
            vec![]
        };
        assert_eq!(
            extra, expected_extra,
            "{name}: tags beyond the Zipkin exporter's"
        );
    }

    // The link the Zipkin exporter drops is kept, and the peer becomes the
    // remote endpoint.
    let child = served.values().find(|s| s["name"] == "child").unwrap();
    assert_eq!(
        child["tags"]["otel.link.0.trace_id"],
        "0af7651916cd43dd8448eb211c80319c"
    );
    assert_eq!(child["tags"]["otel.link.0.span_id"], "b7ad6b7169203331");
    assert_eq!(
        child["tags"]["otel.link.0.attributes"],
        r#"{"link.kind":"source"}"#
    );
    assert_eq!(child["remoteEndpoint"]["serviceName"], "memcached");
    // The event with non-ASCII attribute text, byte for byte as Python wrote it.
    let parent = served.values().find(|s| s["name"] == "parent").unwrap();
    assert_eq!(
        parent["annotations"][0]["value"],
        r#"{"cache miss": {"bytes": 42, "hit": false, "key": "sqrt:2", "note": "\u00e9 \u00fc \u2713"}}"#
    );
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_spans_as_otlp_json_are_stored_the_same() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message as _;
    let request = ExportTraceServiceRequest::decode(OTLP).unwrap();
    let json = serde_json::to_vec(&request).unwrap();
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    let by_protobuf = post_and_fetch(&base, "application/x-protobuf", OTLP);
    collector.shutdown().await.unwrap();
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let by_json = post_and_fetch(&collector.base_url(), "application/json", &json);
    assert_eq!(by_json, by_protobuf);
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn print_shows_the_links_and_errors_of_these_spans() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    post_and_fetch(&base, "application/x-protobuf", OTLP);
    let trace_id = trace_id();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_trace-collector"))
            .args(["print", &trace_id, "--url", &base])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!("{name} [py-app]")))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    assert!(
        line("child").ends_with("[error: connection reset]"),
        "{text}"
    );
    assert!(line("no-description").ends_with("[error]"), "{text}");
    assert!(!line("parent").contains("[error"), "{text}");
    assert!(
        text.contains("↪ link to trace 0af7651916cd43dd8448eb211c80319c span b7ad6b7169203331"),
        "{text}"
    );
    collector.shutdown().await.unwrap();
}
