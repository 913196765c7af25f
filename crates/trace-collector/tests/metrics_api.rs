//! `POST /v1/metrics` with OTLP made by the OpenTelemetry Python SDK
//! (`tests/fixtures/make_metrics_fixture.py`), as protobuf, gzip protobuf
//! and JSON, read back from `GET /api/metrics`.

mod common;

use std::io::Write;

use common::*;
use serde_json::{json, Value};
use trace_collector::Collector;

const OTLP: &[u8] = include_bytes!("fixtures/python_sdk_metrics.otlp.pb");

fn metric<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no metric {name} in {answer}"))
}

fn series(metric: &Value, attributes: Value) -> &Value {
    metric["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["attributes"] == attributes)
        .unwrap_or_else(|| panic!("no series {attributes} in {metric}"))
}

fn check(answer: &Value) {
    let duration = metric(answer, "db.client.operation.duration");
    assert_eq!(duration["type"], "histogram");
    assert_eq!(duration["unit"], "s");
    assert_eq!(
        duration["description"],
        "Duration of database client operations."
    );
    let get = series(
        duration,
        json!({"db.system.name": "memcached", "db.operation.name": "get"}),
    );
    assert_eq!(get["resource"]["service.name"], "py-app");
    assert_eq!(get["scope"], "py.meter");
    let point = &get["points"][0];
    assert_eq!(point["count"], 3);
    assert_eq!(point["temporality"], "cumulative");
    assert!(
        (point["sum"].as_f64().unwrap() - 0.0017).abs() < 1e-12,
        "{point}"
    );
    assert_eq!(point["min"], 0.0002);
    assert_eq!(point["max"], 0.0011);
    let buckets: Vec<u64> = point["bucketCounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap())
        .collect();
    assert_eq!(buckets.iter().sum::<u64>(), 3);
    assert_eq!(
        buckets.len(),
        point["explicitBounds"].as_array().unwrap().len() + 1
    );
    assert!(point["timeUnixNano"].as_u64().unwrap() > point["startTimeUnixNano"].as_u64().unwrap());

    let hits = metric(answer, "cache.hits");
    assert_eq!(hits["type"], "sum");
    assert_eq!(hits["unit"], "{hit}");
    let get_hits = &series(hits, json!({"db.operation.name": "get"}))["points"][0];
    assert_eq!(
        (get_hits["value"].as_f64(), get_hits["monotonic"].as_bool()),
        (Some(2.0), Some(true))
    );
    assert_eq!(
        series(hits, json!({"db.operation.name": "set"}))["points"][0]["value"],
        1.0
    );
    let in_flight = &metric(answer, "requests.in_flight")["series"][0]["points"][0];
    assert_eq!(
        (
            in_flight["value"].as_f64(),
            in_flight["monotonic"].as_bool()
        ),
        (Some(2.0), Some(false))
    );
    let pool = metric(answer, "pool.size");
    assert_eq!(pool["type"], "gauge");
    assert_eq!(
        series(pool, json!({"pool.name": "main"}))["points"][0]["value"],
        4.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_from_the_python_sdk_are_served() {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use prost::Message as _;
    let request = ExportMetricsServiceRequest::decode(OTLP).unwrap();
    let as_json = serde_json::to_vec(&request).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(OTLP).unwrap();
    let gzipped = gz.finish().unwrap();
    let protobuf = ("content-type", "application/x-protobuf");
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a [u8]);
    let cases: Vec<Case> = vec![
        ("protobuf", vec![protobuf], OTLP),
        (
            "gzip protobuf",
            vec![protobuf, ("content-encoding", "gzip")],
            &gzipped,
        ),
        ("JSON", vec![("content-type", "application/json")], &as_json),
    ];
    for (what, headers, body) in cases {
        let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
        let base = collector.base_url();
        let reply = post(&format!("{base}/v1/metrics"), &headers, body);
        assert_eq!(reply.status, 200, "{what}: {}", reply.text());
        let answer = get(&base, "/api/metrics");
        assert_eq!(answer.status, 200);
        check(&answer.json());
        let only = get(&base, "/api/metrics?name=pool.size").json();
        assert_eq!(only["metrics"].as_array().unwrap().len(), 1, "{what}");
        collector.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_ingest_refuses_what_span_ingest_refuses() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    let url = format!("{base}/v1/metrics");
    let protobuf = ("content-type", "application/x-protobuf");
    assert_eq!(
        post(&url, &[protobuf, ("sec-fetch-site", "cross-site")], OTLP).status,
        403
    );
    assert_eq!(post(&url, &[protobuf], b"\xff\xff\xff").status, 400);
    assert_eq!(post(&url, &[], OTLP).status, 415);
    assert_eq!(
        post(&url, &[protobuf], &vec![0u8; (1 << 20) + 1]).status,
        413
    );
    let answer = get(&base, "/api/metrics").json();
    assert_eq!(answer["metrics"], json!([]));
    assert_eq!(answer["stats"]["series"], 0);
    collector.shutdown().await.unwrap();
}
