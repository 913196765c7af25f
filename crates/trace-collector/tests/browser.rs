//! End-to-end in a real browser: headless Chromium loads the viewer from a
//! running collector, its JavaScript queries the Zipkin API, and the rendered
//! DOM must show the posted spans in the trace list and in the waterfall.
//!
//! Chromium is found at `$CHROMIUM` or `/usr/bin/chromium` (Debian package
//! `chromium`, installed by `cargo xtask test`); without it these tests fail.

mod common;

use common::*;
use trace_collector::Collector;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

async fn collector_with_sample() -> trace_collector::RunningCollector {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    let mut spans = sample_trace(TRACE, "sqrt-app", "CalculateSquareRoot", micros_ago(3));
    // Hostile text must render as text, not markup.
    spans[1]["tags"]["memcache.key"] = "<img src=x onerror=alert(1)>".into();
    assert_eq!(post_zipkin(&base, &spans).status, 202);
    let other = sample_trace(
        "0000000000000000000000000000beef",
        "frontend",
        "GET /health",
        micros_ago(60),
    );
    assert_eq!(post_zipkin(&base, &other).status, 202);
    collector
}

async fn dom_of(url: String) -> String {
    tokio::task::spawn_blocking(move || chromium::dom_after_scripts(&url))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_list_shows_posted_traces_and_filters_by_service() {
    let collector = collector_with_sample().await;
    let base = collector.base_url();

    let dom = dom_of(format!("{base}/")).await;
    assert!(
        dom.contains(r#"data-ready="true""#),
        "page did not finish loading:\n{dom}"
    );
    assert!(
        dom.contains(&format!(r#"data-trace-id="{TRACE}""#)),
        "trace row missing:\n{dom}"
    );
    assert!(
        dom.contains(">CalculateSquareRoot</a>"),
        "root span name missing:\n{dom}"
    );
    assert!(dom.contains(">GET /health</a>"));
    assert!(dom.contains("1 error"), "error marker missing");
    assert!(dom.contains(">2 traces, newest first<"), "summary missing");
    // Newest first: the sqrt trace started after the health check.
    let sqrt_at = dom.find(">CalculateSquareRoot</a>").unwrap();
    let health_at = dom.find(">GET /health</a>").unwrap();
    assert!(sqrt_at < health_at);

    let filtered = dom_of(format!("{base}/#/?service=frontend")).await;
    assert!(filtered.contains(">GET /health</a>"));
    assert!(
        !filtered.contains(">CalculateSquareRoot</a>"),
        "service filter ignored"
    );
    assert!(filtered.contains(r#"<option value="frontend">frontend</option>"#));
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waterfall_shows_nested_spans_and_selected_span_tags() {
    let collector = collector_with_sample().await;
    let base = collector.base_url();

    let dom = dom_of(format!("{base}/#/trace/{TRACE}?span=a000000000000002")).await;
    assert!(
        dom.contains(r#"data-view="trace""#) && dom.contains(r#"data-ready="true""#),
        "{dom}"
    );
    for name in ["CalculateSquareRoot", "memcache.get", "memcache.set"] {
        assert!(
            dom.contains(&format!(">{name}</span>")),
            "span {name} missing from waterfall:\n{dom}"
        );
    }
    assert_eq!(
        dom.matches("wf-row wf-span").count(),
        3,
        "one waterfall row per span"
    );
    // Children are indented one level deeper than the root.
    assert!(dom.contains(r#"class="indent" style="width: 10px;""#));
    assert!(dom.contains(r#"class="indent" style="width: 28px;""#));
    // The selected span's details list its tags, escaped.
    assert!(dom.contains(">Tags (2)<"), "tag table missing:\n{dom}");
    assert!(dom.contains(">db.system</td><td>memcached</td>"));
    assert!(
        dom.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "hostile tag not shown as text"
    );
    assert!(!dom.contains("<img src=\"x\""), "hostile tag became markup");

    // The ?trace= form, and a trace the collector does not hold.
    let by_query = dom_of(format!("{base}/?trace={TRACE}")).await;
    assert!(by_query.contains(">memcache.set</span>"));
    let missing = dom_of(format!("{base}/#/trace/ffffffffffffffffffffffffffffffff")).await;
    assert!(
        missing.contains("is not held by this collector"),
        "{missing}"
    );
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waterfall_nests_rpc_halves_like_zipkin() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    let start = micros_ago(2);
    let trace = "0000000000000000000000000000c0de";
    // The server half shares the client's span id; work done by the server
    // points at that id and must sit under the server half.
    let spans = serde_json::json!([
        {"traceId": trace, "id": "00000000000000a1", "name": "page", "timestamp": start, "duration": 900,
         "localEndpoint": {"serviceName": "web"}},
        {"traceId": trace, "parentId": "00000000000000a1", "id": "00000000000000b2", "kind": "CLIENT",
         "name": "call sqrt", "timestamp": start + 100, "duration": 700, "localEndpoint": {"serviceName": "web"}},
        {"traceId": trace, "parentId": "00000000000000a1", "id": "00000000000000b2", "kind": "SERVER", "shared": true,
         "name": "serve sqrt", "timestamp": start + 150, "duration": 600, "localEndpoint": {"serviceName": "sqrt"}},
        {"traceId": trace, "parentId": "00000000000000b2", "id": "00000000000000c3", "kind": "CLIENT",
         "name": "memcache.get", "timestamp": start + 200, "duration": 100, "localEndpoint": {"serviceName": "sqrt"}}
    ]);
    assert_eq!(post_zipkin(&base, &spans).status, 202);
    let dom = dom_of(format!("{base}/#/trace/{trace}")).await;
    let order: Vec<(usize, &str)> = ["page", "call sqrt", "serve sqrt", "memcache.get"]
        .iter()
        .map(|name| (dom.find(&format!(">{name}</span>")).expect(name), *name))
        .collect();
    assert!(
        order.windows(2).all(|w| w[0].0 < w[1].0),
        "rows out of order: {order:?}"
    );
    for width in [10, 28, 46, 64] {
        assert!(
            dom.contains(&format!(r#"class="indent" style="width: {width}px;""#)),
            "no row indented {width}px:\n{dom}"
        );
    }
    collector.shutdown().await.unwrap();
}
