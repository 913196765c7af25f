//! The store's byte budget over HTTP: many spans with large tags keep the
//! accounted bytes under the budget, evict the oldest traces first, and
//! come back with their long values cut and marked.

mod common;

use common::*;
use serde_json::json;
use trace_collector::Collector;

fn big_span(n: u64, tag_bytes: usize) -> serde_json::Value {
    json!([{
        "traceId": format!("{n:032x}"), "id": format!("{n:016x}"), "name": "big",
        "timestamp": micros_ago(60) + n, "duration": 10,
        "localEndpoint": {"serviceName": "app"},
        "tags": {"payload": "x".repeat(tag_bytes)}
    }])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_tags_stay_within_the_byte_budget_and_evict_the_oldest() {
    let budget = 4 << 20;
    let cap = 256 << 10;
    let collector = Collector::builder()
        .max_bytes(budget)
        .max_value_bytes(cap)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let base = collector.base_url();
    let total = 60;
    for n in 1..=total {
        // Each tag is 1 MiB, four times the value cap.
        let reply = post_zipkin(&base, &big_span(n, 1 << 20));
        assert_eq!(reply.status, 202, "{}", reply.text());
        let stats = collector.stats();
        assert!(stats.bytes <= budget, "span {n}: {stats:?}");
    }
    let stats = collector.stats();
    assert_eq!(stats.max_bytes, budget);
    // 4 MiB holds about fifteen 256 KiB spans, not sixty.
    assert!((10..20).contains(&stats.traces), "{stats:?}");
    assert_eq!(stats.evicted_traces, total - stats.traces as u64);
    assert_eq!(stats.dropped_spans, 0);
    let oldest_kept = total - stats.traces as u64 + 1;
    assert_eq!(
        get(&base, &format!("/api/v2/trace/{:032x}", oldest_kept - 1)).status,
        404
    );
    let newest = get(&base, &format!("/api/v2/trace/{total:032x}")).json();
    let payload = newest[0]["tags"]["payload"].as_str().unwrap();
    assert_eq!(
        payload,
        format!("{}…[truncated, {} bytes]", "x".repeat(cap), 1 << 20)
    );
    assert_eq!(
        get(&base, "/api/collector/stats").json()["bytes"],
        json!(stats.bytes)
    );
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_small_spans_stay_within_the_byte_budget() {
    let budget = 2 << 20;
    let collector = Collector::builder()
        .max_bytes(budget)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let base = collector.base_url();
    for batch in 0..10u64 {
        let spans: Vec<serde_json::Value> = (0..2_000u64)
            .map(|i| {
                let n = batch * 2_000 + i + 1;
                json!({"traceId": format!("{n:x}"), "id": format!("{n:x}")})
            })
            .collect();
        assert_eq!(post_zipkin(&base, &json!(spans)).status, 202);
        assert!(collector.stats().bytes <= budget);
    }
    let stats = collector.stats();
    assert!(stats.traces < 20_000 && stats.traces > 500, "{stats:?}");
    assert_eq!(
        get(&base, &format!("/api/v2/trace/{:016x}", 20_000)).status,
        200
    );
    assert_eq!(get(&base, &format!("/api/v2/trace/{:016x}", 1)).status, 404);
    collector.shutdown().await.unwrap();
}
