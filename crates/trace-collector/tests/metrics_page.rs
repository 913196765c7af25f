//! The metrics page in headless Chromium, over OTLP/JSON metrics shaped as
//! memcache-client exports them (two cumulative exports): the hit ratio,
//! the per-operation table with percentiles, the histogram bars and the
//! lines over time show what the posted points say, and the terminal
//! summary (`/api/collector/cache-metrics`) agrees with the page.

mod common;

use common::webdriver::Browser;
use common::*;
use serde_json::{json, Value};
use trace_collector::{fetch_cache_metrics, Collector};

const BOUNDS: [f64; 3] = [0.001, 0.01, 0.1];

fn attrs(pairs: &[(&str, &str)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(k, v)| json!({"key": k, "value": {"stringValue": v}}))
            .collect(),
    )
}

/// One export: cumulative lookups and one duration histogram for `get`.
fn export(time_ns: u64, hits: u64, misses: u64, buckets: [u64; 4]) -> Value {
    let start = "1700000000000000000";
    let sum_point = |n: u64, result: &str| {
        json!({"attributes": attrs(&[("db.operation.name", "get"), ("memcached.result", result)]),
               "startTimeUnixNano": start, "timeUnixNano": time_ns.to_string(), "asInt": n.to_string()})
    };
    json!({"resourceMetrics": [{
    "resource": {"attributes": attrs(&[("service.name", "sqrt-demo")])},
    "scopeMetrics": [{
        "scope": {"name": "memcache-client"},
        "metrics": [
            {"name": "memcached.client.lookups", "unit": "{key}",
             "sum": {"aggregationTemporality": 2, "isMonotonic": true,
                     "dataPoints": [sum_point(hits, "hit"), sum_point(misses, "miss")]}},
            {"name": "db.client.operation.duration", "unit": "s",
             "histogram": {"aggregationTemporality": 2, "dataPoints": [{
                 "attributes": attrs(&[("db.operation.name", "get"), ("db.system.name", "memcached")]),
                 "startTimeUnixNano": start, "timeUnixNano": time_ns.to_string(),
                 "count": buckets.iter().sum::<u64>().to_string(),
                 "bucketCounts": buckets.iter().map(u64::to_string).collect::<Vec<_>>(),
                 "explicitBounds": BOUNDS}]}}
        ]}]}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_page_shows_hit_ratio_percentiles_and_intervals() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    let t = 1_700_000_100_000_000_000u64;
    for body in [
        export(t, 30, 10, [40, 0, 0, 0]),
        export(t + 10_000_000_000, 90, 30, [40, 80, 0, 0]),
    ] {
        let reply = post(
            &format!("{base}/v1/metrics"),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        assert_eq!(reply.status, 200, "{}", reply.text());
    }

    let summary = tokio::task::block_in_place(|| fetch_cache_metrics(&base)).unwrap();
    assert_eq!((summary.hits, summary.misses), (90, 30));
    assert_eq!(summary.hit_ratio, Some(0.75));
    let get = &summary.operations[0];
    assert_eq!((get.name.as_str(), get.count), ("get", 120));
    // Rank 60 of 120: 20 into the second bucket's 80 (1..10 ms).
    let p50 = get.p50.unwrap();
    assert!((p50 - (0.001 + 0.009 * 20.0 / 80.0)).abs() < 1e-9, "{p50}");
    assert_eq!(summary.timeline.len(), 2);
    assert_eq!(
        (summary.timeline[1].hits, summary.timeline[1].misses),
        (60, 20)
    );

    let browser = Browser::start();
    browser.goto(&format!("{base}/#/metrics"));
    browser.wait_ready("metrics");
    let shown = browser.eval(
        "return [document.querySelector('#hit-ratio .metric-value').textContent,
                 document.getElementById('hits').textContent,
                 document.getElementById('misses').textContent,
                 ...['count', 'errors', 'p50', 'p99'].map((c) =>
                    document.querySelector(\"#metric-rows tr[data-operation='get'] .\" + c).textContent),
                 +document.querySelector(\"#metric-rows tr[data-operation='get'] .p50\").dataset.seconds,
                 [...document.querySelectorAll(\"#metric-rows tr[data-operation='get'] svg.histo rect\")].map((r) => +r.dataset.count),
                 document.querySelectorAll('#ratio-chart .series.ratio circle').length,
                 [...document.querySelectorAll('#ratio-chart .series.ratio circle')].map((c) => +c.dataset.value),
                 document.querySelectorAll('#latency-chart .series').length]",
    );
    let ms = |s: f64| format!("{:.3} ms", s * 1000.0);
    assert_eq!(
        shown,
        json!([
            "75.0%",
            "90",
            "30",
            "120",
            "0",
            ms(p50),
            ms(get.p99.unwrap()),
            p50,
            [40, 80, 0, 0],
            2,
            [0.75, 0.75],
            2
        ])
    );
    // The nav link leads here.
    browser.goto(&format!("{base}/#/"));
    browser.wait_ready("list");
    browser.click("a[data-nav='metrics']");
    browser.wait_ready("metrics");
    drop(browser);
    collector.shutdown().await.unwrap();
}
