//! Zipkin v2 intake and query API over real HTTP: JSON and gzip bodies in,
//! services / span names / trace search / trace by id out.

mod common;

use std::io::Write;

use common::*;
use serde_json::json;
use trace_collector::Collector;

const TRACE_A: &str = "5af7183fb1d4cf5f5af7183fb1d4cf5f";
const TRACE_B: &str = "00000000000000000000000000000b0b";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posted_spans_are_served_by_the_query_api() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();

    let posted = post_zipkin(
        &base,
        &sample_trace(TRACE_A, "sqrt-app", "compute", micros_ago(300)),
    );
    assert_eq!(posted.status, 202, "{}", posted.text());
    let posted = post_zipkin(
        &base,
        &sample_trace(TRACE_B, "frontend", "GET /", micros_ago(10)),
    );
    assert_eq!(posted.status, 202, "{}", posted.text());

    let services = get(&base, "/api/v2/services");
    assert_eq!(services.status, 200);
    assert!(services.content_type.starts_with("application/json"));
    assert_eq!(services.json(), json!(["frontend", "sqrt-app"]));

    let names = get(&base, "/api/v2/spans?serviceName=sqrt-app").json();
    assert_eq!(names, json!(["compute", "memcache.get", "memcache.set"]));
    assert_eq!(
        get(&base, "/api/v2/spans").status,
        400,
        "serviceName is required"
    );
    assert_eq!(
        get(&base, "/api/v2/remoteServices?serviceName=sqrt-app").json(),
        json!(["memcached"])
    );

    let trace = get(&base, &format!("/api/v2/trace/{TRACE_A}"));
    assert_eq!(trace.status, 200);
    let trace = trace.json();
    assert_eq!(
        common::names(&trace),
        vec!["compute", "memcache.get", "memcache.set"]
    );
    assert_eq!(trace[1]["remoteEndpoint"]["port"], 11211);
    assert_eq!(trace[2]["tags"]["error"], "connection reset");
    assert_eq!(trace[2]["annotations"][0]["value"], "sent");

    // 64-bit lookups of a zero-padded id, case-insensitive ids.
    assert_eq!(get(&base, "/api/v2/trace/0000000000000B0B").status, 200);
    assert_eq!(get(&base, "/api/v2/trace/ffffffffffffffff").status, 404);
    assert_eq!(get(&base, "/api/v2/trace/not-hex").status, 400);

    // Newest first, then the filters.
    let all = get(&base, "/api/v2/traces").json();
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[0]["traceId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![TRACE_B, TRACE_A]);
    let by_service = get(&base, "/api/v2/traces?serviceName=sqrt-app").json();
    assert_eq!(by_service.as_array().unwrap().len(), 1);
    assert_eq!(by_service[0][0]["traceId"], TRACE_A);
    let by_span = get(&base, "/api/v2/traces?spanName=GET%20%2F").json();
    assert_eq!(by_span[0][0]["traceId"], TRACE_B);
    assert_eq!(
        get(&base, "/api/v2/traces?limit=1")
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let slow = get(
        &base,
        "/api/v2/traces?minDuration=4000&serviceName=frontend",
    )
    .json();
    assert_eq!(slow.as_array().unwrap().len(), 1);
    let too_slow = get(&base, "/api/v2/traces?minDuration=5001").json();
    assert_eq!(too_slow, json!([]));
    // A 2 min window ending now holds only the trace that started 10 s ago.
    let recent = get(&base, "/api/v2/traces?lookback=120000").json();
    assert_eq!(recent.as_array().unwrap().len(), 1);
    let errors = get(
        &base,
        "/api/v2/traces?annotationQuery=error%3Dconnection%20reset",
    )
    .json();
    assert_eq!(errors.as_array().unwrap().len(), 2);
    assert_eq!(get(&base, "/api/v2/traces?limit=lots").status, 400);

    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_bodies_are_accepted() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    let body = serde_json::to_vec(&sample_trace(TRACE_A, "gz", "zipped", micros_ago(5))).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&body).unwrap();
    let packed = encoder.finish().unwrap();

    let reply = post(
        &format!("{base}/api/v2/spans"),
        &[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        &packed,
    );
    assert_eq!(reply.status, 202, "{}", reply.text());
    let trace = get(&base, &format!("/api/v2/trace/{TRACE_A}")).json();
    assert_eq!(
        common::names(&trace),
        vec!["zipped", "memcache.get", "memcache.set"]
    );
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_shaped_like_other_zipkin_exporters_are_accepted() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    let now = micros_ago(1);
    // Brave (Java) style: 64-bit ids, shared server span, ipv6, numeric-looking tags.
    // zipkin-js style: `debug`, and a tag value sent as a number.
    let body = json!([
        {"traceId":"86154a4ba6e91385","parentId":"86154a4ba6e91385","id":"4d1e00c0db9010db","kind":"CLIENT",
         "name":"get /api","timestamp":now,"duration":207000,
         "localEndpoint":{"serviceName":"frontend","ipv6":"::1"},
         "remoteEndpoint":{"serviceName":"backend","ipv4":"192.168.99.101","port":9000},
         "annotations":[{"timestamp":now + 10,"value":"wire send"}],
         "tags":{"http.path":"/api","clnt/finagle.version":"6.45.0"}},
        {"traceId":"86154a4ba6e91385","parentId":"86154a4ba6e91385","id":"4d1e00c0db9010db","kind":"SERVER",
         "shared":true,"name":"get /api","timestamp":now + 2000,"duration":200000,
         "localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.101","port":9000}},
        {"traceId":"86154a4ba6e91385","id":"86154a4ba6e91385","kind":"SERVER","name":"get /",
         "timestamp":now - 1000,"duration":210000,"debug":true,
         "localEndpoint":{"serviceName":"frontend"},"tags":{"http.status_code":200,"sampled":true}}
    ]);
    let reply = post_zipkin(&base, &body);
    assert_eq!(reply.status, 202, "{}", reply.text());
    let trace = get(&base, "/api/v2/trace/86154a4ba6e91385").json();
    assert_eq!(
        trace.as_array().unwrap().len(),
        3,
        "shared span kept next to its client half"
    );
    assert_eq!(trace[0]["tags"]["http.status_code"], "200");
    assert_eq!(trace[0]["debug"], true);
    assert_eq!(
        get(&base, "/api/v2/services").json(),
        json!(["backend", "frontend"])
    );

    // Reposting the same batch (an exporter retry) does not duplicate spans.
    assert_eq!(post_zipkin(&base, &body).status, 202);
    assert_eq!(
        get(&base, "/api/v2/trace/86154a4ba6e91385")
            .json()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(collector.stats().spans, 3);
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_cap_evicts_the_oldest_traces_over_http() {
    let collector = Collector::builder()
        .max_traces(3)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let base = collector.base_url();
    for n in 1..=5u64 {
        let id = format!("{n:032x}");
        assert_eq!(
            post_zipkin(&base, &sample_trace(&id, "app", "op", micros_ago(60 - n))).status,
            202
        );
    }
    let stats = collector.stats();
    assert_eq!((stats.traces, stats.spans, stats.evicted_traces), (3, 9, 2));
    assert_eq!(get(&base, &format!("/api/v2/trace/{:032x}", 1)).status, 404);
    assert_eq!(get(&base, &format!("/api/v2/trace/{:032x}", 2)).status, 404);
    assert_eq!(get(&base, &format!("/api/v2/trace/{:032x}", 5)).status, 200);
    collector.shutdown().await.unwrap();
}
