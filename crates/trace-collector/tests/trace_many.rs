//! `GET /api/v2/traceMany` as `zipkin2-api.yaml` defines it: a
//! `ListOfTraces` of the traces held among those asked for; 400 for fewer
//! than two ids, a repeated id, or a malformed one.

mod common;

use common::*;
use trace_collector::Collector;

const A: &str = "5af7183fb1d4cf5f5af7183fb1d4cf5f";
const B: &str = "00000000000000000000000000000b0b";
const MISSING: &str = "ffffffffffffffffffffffffffffffff";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_many_returns_the_held_traces_as_a_list_of_traces() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    for (id, service) in [(A, "app"), (B, "frontend")] {
        let posted = post_zipkin(&base, &sample_trace(id, service, "root", micros_ago(5)));
        assert_eq!(posted.status, 202, "{}", posted.text());
    }

    let reply = get(
        &base,
        &format!("/api/v2/traceMany?traceIds={A},{MISSING},{B}"),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.content_type.starts_with("application/json"));
    let traces = reply.json();
    zipkin_schema::list_of_traces(&traces).unwrap();
    let ids: Vec<&str> = traces
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[0]["traceId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![A, B]);
    assert_eq!(traces[0].as_array().unwrap().len(), 3);

    // A 64-bit id finds the zero-padded trace; none found is an empty list.
    let short = get(
        &base,
        &format!("/api/v2/traceMany?traceIds=0000000000000b0b,{A}"),
    );
    assert_eq!(short.status, 200);
    assert_eq!(short.json().as_array().unwrap().len(), 2);
    let none = get(
        &base,
        &format!("/api/v2/traceMany?traceIds={MISSING},ffffffffffffffff0"),
    );
    assert_eq!(none.status, 200, "{}", none.text());
    assert_eq!(none.json(), serde_json::json!([]));

    for bad in [
        "/api/v2/traceMany".to_owned(),
        "/api/v2/traceMany?traceIds=".to_owned(),
        format!("/api/v2/traceMany?traceIds={A}"),
        format!("/api/v2/traceMany?traceIds={A},{A}"),
        format!("/api/v2/traceMany?traceIds={A},,{B}"),
        format!("/api/v2/traceMany?traceIds={A},not-hex-at-all-xx"),
        format!("/api/v2/traceMany?traceIds={A},abc"),
        format!("/api/v2/traceMany?traceIds={A},{B}0"),
    ] {
        let reply = get(&base, &bad);
        assert_eq!(reply.status, 400, "{bad}: {}", reply.text());
        assert!(!reply.text().trim().is_empty(), "{bad}: the 400 says why");
    }
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_query_answers_match_the_span_schema() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    post_zipkin(&base, &sample_trace(A, "app", "root", micros_ago(5)));
    zipkin_schema::list_of_traces(&get(&base, "/api/v2/traces").json()).unwrap();
    zipkin_schema::trace(&get(&base, &format!("/api/v2/trace/{A}")).json()).unwrap();
    collector.shutdown().await.unwrap();
}
