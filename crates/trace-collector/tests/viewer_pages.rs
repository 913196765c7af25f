//! The viewer's pages driven like a user drives them, in headless Chromium
//! through WebDriver: what the latency scatter plot, dependency graph,
//! operations table and waterfall show, and what clicking, typing and
//! opening a file do.

mod common;

use common::webdriver::Browser;
use common::*;
use serde_json::{json, Value};
use trace_collector::{Collector, RunningCollector};

fn span(
    trace: &str,
    id: &str,
    parent: Option<&str>,
    service: &str,
    name: &str,
    start: u64,
    duration: u64,
) -> Value {
    let mut span = json!({"traceId": trace, "id": id, "name": name, "timestamp": start, "duration": duration,
                          "localEndpoint": {"serviceName": service}});
    if let Some(parent) = parent {
        span["parentId"] = json!(parent);
    }
    span
}

/// A collector holding posted span batches, and a browser looking at it.
struct Viewer {
    collector: RunningCollector,
    base: String,
    browser: Browser,
}

impl Viewer {
    /// Starts a collector (autocomplete for `db.system` and `http.method`),
    /// posts each Zipkin JSON batch, and starts a browser.
    async fn start(batches: Vec<Value>) -> Viewer {
        let collector = Collector::builder()
            .autocomplete_keys(["db.system", "http.method"])
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let base = collector.base_url();
        for batch in &batches {
            let reply = post_zipkin(&base, batch);
            assert_eq!(reply.status, 202, "{}", reply.text());
        }
        Viewer {
            collector,
            base,
            browser: Browser::start(),
        }
    }

    /// Loads the page at `route` (`#/...`) and waits until `view` is drawn.
    fn open(&self, route: &str, view: &str) {
        self.browser.goto(&format!("{}/{route}", self.base));
        self.browser.wait_ready(view);
    }

    async fn stop(self) {
        drop(self.browser);
        self.collector.shutdown().await.unwrap();
    }
}

impl std::ops::Deref for Viewer {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.browser
    }
}

/// `fmtDuration` of the page, for comparing what it prints.
fn page_duration(us: u64) -> String {
    match us {
        0..=999 => format!("{us} µs"),
        1_000..=9_999 => format!("{:.2} ms", us as f64 / 1e3),
        10_000..=999_999 => format!("{:.1} ms", us as f64 / 1e3),
        1_000_000..=9_999_999 => format!("{:.2} s", us as f64 / 1e6),
        _ => format!("{:.1} s", us as f64 / 1e6),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scatter_plots_each_trace_and_search_filters_by_tag_and_duration() {
    // Seven traces: durations 5, 10, ... 35 ms; the third and sixth fail.
    let start = micros_ago(60);
    let mut batches = Vec::new();
    for n in 1..=7u64 {
        let trace = format!("{n:032x}");
        let mut spans = sample_trace(
            &trace,
            "sqrt-app",
            "CalculateSquareRoot",
            start + n * 1_000_000,
        );
        spans[0]["duration"] = json!(n * 5_000);
        if n % 3 != 0 {
            spans[2]["tags"].as_object_mut().unwrap().remove("error");
        }
        if n == 7 {
            spans[1]["tags"]["db.system"] = json!("redis");
        }
        batches.push(spans);
    }
    let browser = Viewer::start(batches).await;
    browser.open("", "list");
    assert_eq!(
        browser.eval("return document.querySelectorAll('#scatter circle.point').length"),
        7
    );
    assert_eq!(
        browser.eval("return document.querySelectorAll('#scatter circle.point.error').length"),
        2
    );
    // Longer traces are drawn higher (smaller y).
    let heights = browser.eval(
        "return [...document.querySelectorAll('#scatter circle.point')]
           .sort((a, b) => a.dataset.traceId.localeCompare(b.dataset.traceId)).map((c) => +c.getAttribute('cy'))",
    );
    let heights: Vec<f64> = heights
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(heights.windows(2).all(|w| w[0] > w[1]), "{heights:?}");

    // Clicking a point opens its trace.
    let third = format!("{:032x}", 3);
    browser.click(&format!("#scatter circle[data-trace-id='{third}']"));
    browser.wait_for(
        &format!("location.hash === '#/trace/{third}' && document.body.dataset.view === 'trace' && document.body.dataset.ready === 'true' && document.querySelectorAll('.wf-span').length === 3"),
        "the clicked trace",
    );

    // Tag autocomplete offers configured keys, then the values held.
    browser.open("#/", "list");
    browser.type_into("#f-tag", "db.sys");
    browser.wait_for("[...document.querySelectorAll('#tag-suggestions option')].some((o) => o.value === 'db.system=')", "key suggestion");
    browser.type_into("#f-tag", "tem=");
    let values = browser.wait_for(
        "document.getElementById('tag-suggestions').dataset.for === 'db.system=' && [...document.querySelectorAll('#tag-suggestions option')].map((o) => o.value)",
        "value suggestions",
    );
    assert_eq!(values, json!(["db.system=memcached", "db.system=redis"]));

    // Search: tag and a duration range narrow the list and the plot alike.
    browser.type_into("#f-tag", "memcached");
    browser.type_into("#f-min", "10ms");
    browser.type_into("#f-max", "25ms");
    browser.click("#filters button[type=submit]");
    browser.wait_for("location.hash.includes('tag=') && document.body.dataset.ready === 'true' && document.querySelectorAll('#trace-rows tr').length === 4", "filtered list");
    let shown = browser.eval("return [...document.querySelectorAll('#scatter circle.point')].map((c) => c.dataset.traceId).sort()");
    let expected: Vec<String> = (2..=5u64).map(|n| format!("{n:032x}")).collect();
    assert_eq!(shown, json!(expected));

    // A time window ending between the fourth and fifth trace (the form's
    // datetime-local value is local time to the second).
    let end_s = (start + 4_000_000).div_ceil(1_000_000);
    browser.eval(&format!(
        "const d = new Date({end_s} * 1000); const p = (n) => String(n).padStart(2, '0');
         location.hash = '#/?lookback=900000&end=' + `${{d.getFullYear()}}-${{p(d.getMonth() + 1)}}-${{p(d.getDate())}}T${{p(d.getHours())}}:${{p(d.getMinutes())}}:${{p(d.getSeconds())}}`;
         return 1;"
    ));
    browser.wait_for("location.hash.includes('end=') && document.body.dataset.ready === 'true' && document.getElementById('f-end').value !== ''", "windowed list");
    let shown = browser.eval("return [...document.querySelectorAll('#scatter circle.point')].map((c) => c.dataset.traceId).sort()");
    let expected: Vec<String> = (1..=4u64).map(|n| format!("{n:032x}")).collect();
    assert_eq!(shown, json!(expected));
    browser.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependency_graph_draws_services_and_counted_edges() {
    let t = micros_ago(30);
    let trace = "000000000000000000000000000000d1";
    let mut spans = vec![
        span(
            trace,
            "00000000000000a1",
            None,
            "web",
            "GET /sqrt",
            t,
            9_000,
        ),
        span(
            trace,
            "00000000000000a2",
            Some("00000000000000a1"),
            "web",
            "call sqrt",
            t + 100,
            8_000,
        ),
        span(
            trace,
            "00000000000000a3",
            Some("00000000000000a2"),
            "sqrt-demo",
            "sqrt",
            t + 200,
            7_000,
        ),
        span(
            trace,
            "00000000000000a4",
            Some("00000000000000a3"),
            "sqrt-demo",
            "meta_get",
            t + 300,
            500,
        ),
        span(
            trace,
            "00000000000000a5",
            Some("00000000000000a3"),
            "sqrt-demo",
            "meta_set",
            t + 900,
            500,
        ),
        span(
            trace,
            "00000000000000a6",
            Some("00000000000000a3"),
            "sqrt-demo",
            "meta_get",
            t + 1_500,
            500,
        ),
    ];
    spans[1]["kind"] = json!("CLIENT");
    spans[2]["kind"] = json!("SERVER");
    for s in &mut spans[3..] {
        s["kind"] = json!("CLIENT");
        s["remoteEndpoint"] = json!({"serviceName": "memcached", "port": 11211});
    }
    spans[4]["tags"] = json!({"error": "NOT_STORED"});
    let batches = vec![Value::Array(spans)];

    let browser = Viewer::start(batches).await;
    browser.open("#/dependencies", "deps");
    let nodes = browser.eval("return [...document.querySelectorAll('#dep-graph .dep-node')].map((n) => n.dataset.service).sort()");
    assert_eq!(nodes, json!(["memcached", "sqrt-demo", "web"]));
    let edges = browser.eval(
        "return [...document.querySelectorAll('#dep-graph .dep-edge')].map((e) =>
           [e.dataset.parent, e.dataset.child, +e.dataset.calls, +e.dataset.errors, e.querySelector('text').textContent])",
    );
    assert_eq!(
        edges,
        json!([
            ["sqrt-demo", "memcached", 3, 1, "3 calls · 1 error"],
            ["web", "sqrt-demo", 1, 0, "1 call"]
        ])
    );
    // Callers sit left of their callees.
    let x_of = |service: &str| {
        browser
            .eval(&format!("return document.querySelector(\"#dep-graph .dep-node[data-service='{service}']\").getBBox().x + document.querySelector(\"#dep-graph .dep-node[data-service='{service}']\").transform.baseVal[0].matrix.e"))
            .as_f64()
            .unwrap()
    };
    assert!(x_of("web") < x_of("sqrt-demo") && x_of("sqrt-demo") < x_of("memcached"));
    assert!(
        browser
            .eval("return document.querySelector('#dep-graph .dep-edge.has-errors').dataset.child")
            .as_str()
            == Some("memcached")
    );
    // A node opens the trace list of its service.
    browser.click("#dep-graph .dep-node[data-service='web']");
    browser.wait_for("location.hash === '#/?service=web' && document.body.dataset.view === 'list' && document.body.dataset.ready === 'true'", "list for web");
    browser.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_table_shows_counts_error_rates_and_percentiles() {
    let t = micros_ago(30);
    // 40 traces; meta_get durations from a fixed pseudo-random sequence.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut durations = Vec::new();
    let mut batches = Vec::new();
    for n in 1..=40u64 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let duration = 50 + seed % 20_000;
        durations.push(duration);
        let trace = format!("{n:032x}");
        let mut spans = sample_trace(&trace, "sqrt-demo", "batch", t + n);
        spans[1]["duration"] = json!(duration);
        spans[1]["name"] = json!("meta_get");
        if n % 8 != 0 {
            spans[2]["tags"].as_object_mut().unwrap().remove("error");
        }
        batches.push(spans);
    }
    durations.sort_unstable();
    let rank = |p: usize| durations[(p * durations.len()).div_ceil(100) - 1];

    let browser = Viewer::start(batches).await;
    browser.open("#/operations", "ops");
    let row = |span: &str| {
        browser.eval(&format!(
            "const r = document.querySelector(\"#ops-rows tr[data-span='{span}']\");
             return ['count', 'errors', 'rate', 'p50', 'p95', 'p99'].map((c) => r.querySelector('.' + c).textContent)
               .concat(['p50', 'p95', 'p99'].map((c) => +r.querySelector('.' + c).dataset.us))
               .concat([r.querySelectorAll('svg.histo rect').length,
                         [...r.querySelectorAll('svg.histo rect')].reduce((n, b) => n + +b.dataset.count, 0)])"
        ))
    };
    let get = row("meta_get");
    assert_eq!(
        get,
        json!([
            "40",
            "0",
            "0%",
            page_duration(rank(50)),
            page_duration(rank(95)),
            page_duration(rank(99)),
            rank(50),
            rank(95),
            rank(99),
            20,
            40
        ])
    );
    let set = row("memcache.set");
    assert_eq!(
        &set.as_array().unwrap()[..3],
        &[json!("40"), json!("5"), json!("13%")]
    );
    assert_eq!(
        browser.eval("return document.querySelectorAll('#ops-rows tr').length"),
        3
    );
    // A row opens the trace list for that operation.
    browser.click("#ops-rows tr[data-span='meta_get']");
    browser.wait_for("location.hash === '#/?service=sqrt-demo&span=meta_get' && document.body.dataset.ready === 'true' && document.getElementById('f-span').value === 'meta_get'", "list for meta_get");
    browser.stop().await;
}

const SOURCE_TRACE: &str = "0000000000000000000000000000a001";
const HIT_TRACE: &str = "0000000000000000000000000000b002";

/// A trace that computed a root, and a later one that found it memoized
/// (pointing back with the memo's tags) and also carries an OTLP-style link.
fn linked_traces() -> Vec<Value> {
    let t = micros_ago(40);
    let computed = vec![
        span(
            SOURCE_TRACE,
            "00000000000000c1",
            None,
            "sqrt-demo",
            "CalculateSquareRoot",
            t,
            5_000,
        ),
        span(
            SOURCE_TRACE,
            "00000000000000c2",
            Some("00000000000000c1"),
            "sqrt-demo",
            "sqrt.compute",
            t + 100,
            4_000,
        ),
    ];
    let mut hit = vec![
        span(
            HIT_TRACE,
            "00000000000000d1",
            None,
            "sqrt-demo",
            "CalculateSquareRoot",
            t + 10_000,
            900,
        ),
        span(
            HIT_TRACE,
            "00000000000000d2",
            Some("00000000000000d1"),
            "sqrt-demo",
            "sqrt.memo",
            t + 10_100,
            700,
        ),
    ];
    hit[1]["tags"] = json!({
        "sqrt.source": "hit",
        "sqrt.source.trace_id": SOURCE_TRACE,
        "sqrt.source.span_id": "00000000000000c2",
        "otel.link.0.trace_id": SOURCE_TRACE,
        "otel.link.0.span_id": "00000000000000c1",
    });
    vec![Value::Array(computed), Value::Array(hit)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_open_the_span_that_computed_the_value() {
    let browser = Viewer::start(linked_traces()).await;
    browser.open(
        &format!("#/trace/{HIT_TRACE}?span=00000000000000d2"),
        "trace",
    );
    let links = browser.eval("return [...document.querySelectorAll('.details a.span-link')].map((a) => a.getAttribute('href'))");
    assert_eq!(
        links,
        json!([
            format!("#/trace/{SOURCE_TRACE}?span=00000000000000c1"),
            format!("#/trace/{SOURCE_TRACE}?span=00000000000000c2")
        ])
    );
    // The memo's link: the computing span is opened and selected.
    browser.click(".details a.span-link[href$='c2']");
    browser.wait_for(
        &format!("location.hash.startsWith('#/trace/{SOURCE_TRACE}') && document.body.dataset.ready === 'true' && document.querySelector('.wf-span.selected[data-span-id=\"00000000000000c2\"]')"),
        "the computing span selected",
    );
    assert_eq!(
        browser.eval("return document.querySelector('.details h3').textContent"),
        "sqrt.compute"
    );
    // The link chip in the waterfall row goes there too.
    browser.open(&format!("#/trace/{HIT_TRACE}"), "trace");
    browser.click(".wf-span[data-span-id='00000000000000d2'] a.link-chip[href$='c1']");
    browser.wait_for(
        "document.querySelector('.wf-span.selected[data-span-id=\"00000000000000c1\"]') && document.body.dataset.ready === 'true'",
        "the linked root span selected",
    );
    browser.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_path_and_errors_are_marked_in_the_waterfall() {
    let t = micros_ago(20);
    let trace = "00000000000000000000000000000c11";
    // root 0..100 ms: A 0..40 and B 50..100 in sequence; C 10..30 runs beside A.
    let mut spans = vec![
        span(trace, "0000000000000001", None, "app", "root", t, 100_000),
        span(
            trace,
            "0000000000000002",
            Some("0000000000000001"),
            "app",
            "A",
            t,
            40_000,
        ),
        span(
            trace,
            "0000000000000003",
            Some("0000000000000001"),
            "app",
            "B",
            t + 50_000,
            50_000,
        ),
        span(
            trace,
            "0000000000000004",
            Some("0000000000000001"),
            "app",
            "C",
            t + 10_000,
            20_000,
        ),
        span(
            trace,
            "0000000000000005",
            Some("0000000000000003"),
            "db",
            "B.query",
            t + 60_000,
            30_000,
        ),
    ];
    spans[3]["tags"] = json!({"error": "timeout"});
    let batches = vec![Value::Array(spans)];
    let browser = Viewer::start(batches).await;
    browser.open(&format!("#/trace/{trace}"), "trace");
    let marked = |selector: &str| {
        browser.eval(&format!(
            "return [...document.querySelectorAll('{selector}')].map((r) => r.querySelector('.span-name').textContent).sort()"
        ))
    };
    assert_eq!(
        marked(".wf-span.critical"),
        json!(["A", "B", "B.query", "root"])
    );
    assert_eq!(marked(".wf-span.has-error"), json!(["C"]));
    // B's own time outside its child is on the path too: two segments.
    assert_eq!(browser.eval("return document.querySelector(\".wf-span[data-span-id='0000000000000003']\").querySelectorAll('.crit-seg').length"), 2);
    assert_eq!(browser.eval("return getComputedStyle(document.querySelector('.wf-span.has-error .bar')).backgroundColor"), "rgb(226, 85, 85)");
    // The highlight can be switched off.
    browser.click("#show-critical");
    browser.wait_for(
        "document.querySelectorAll('.wf-span.critical').length === 0",
        "critical path hidden",
    );
    browser.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_downloads_as_zipkin_json_and_an_opened_file_is_shown() {
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let browser = Viewer::start(vec![sample_trace(
        trace,
        "sqrt-app",
        "CalculateSquareRoot",
        micros_ago(5),
    )])
    .await;
    browser.open(&format!("#/trace/{trace}"), "trace");
    assert_eq!(
        browser.eval("return document.getElementById('download').getAttribute('download')"),
        format!("trace-{trace}.json")
    );
    browser.eval("window.downloaded = null; fetch(document.getElementById('download').href).then((r) => r.json()).then((j) => { window.downloaded = j; }); return 1;");
    let downloaded = browser.wait_for("window.downloaded", "the download's contents");
    assert_eq!(
        downloaded,
        get(&browser.base, &format!("/api/v2/trace/{trace}")).json()
    );

    // A file with a trace the collector never saw, with hostile text.
    let dir = scratch_dir("upload");
    let file = dir.join("other.json");
    let other = "0000000000000000000000000000f11e";
    let mut spans = sample_trace(
        other,
        "uploaded-svc",
        "<img src=x onerror=window.pwned=1>",
        micros_ago(3600),
    );
    spans[1]["tags"]["sqrt.source.trace_id"] = json!(trace);
    spans[1]["tags"]["sqrt.source.span_id"] = json!("a000000000000002");
    std::fs::write(&file, serde_json::to_vec(&spans).unwrap()).unwrap();
    browser.type_into("#upload", file.to_str().unwrap());
    browser.wait_for(
        &format!("location.hash === '#/upload/{other}' && document.body.dataset.ready === 'true' && document.querySelectorAll('.wf-span').length === 3"),
        "the uploaded trace",
    );
    assert_eq!(
        browser.eval("return document.querySelector('.trace-title').textContent"),
        "<img src=x onerror=window.pwned=1>"
    );
    assert_eq!(
        browser.eval("return document.querySelector('.badge.source').textContent"),
        "from other.json"
    );
    assert_eq!(
        browser.eval("return document.querySelectorAll('img').length + (window.pwned ? 100 : 0)"),
        0
    );
    // Its link leads into the collector's trace.
    browser.click(".wf-span[data-span-id='a000000000000002'] a.link-chip");
    browser.wait_for(&format!("location.hash === '#/trace/{trace}?span=a000000000000002' && document.body.dataset.ready === 'true' && document.querySelector('.wf-span.selected')"), "linked stored trace");

    // Not Zipkin JSON: a clear message, nothing shown.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, br#"{"resourceSpans": []}"#).unwrap();
    browser.type_into("#upload", bad.to_str().unwrap());
    let message = browser.wait_for("document.querySelector('#trace-body .error-box') && document.querySelector('#trace-body .error-box').textContent", "upload error");
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("Could not read bad.json: expected a JSON list of Zipkin v2 spans"),
        "{message}"
    );
    // Spans of the wrong shape are refused by name, not half drawn.
    let odd = dir.join("odd.json");
    std::fs::write(
        &odd,
        br#"[{"traceId": "1", "id": "2", "annotations": "soon"}]"#,
    )
    .unwrap();
    browser.type_into("#upload", odd.to_str().unwrap());
    let message = browser.wait_for("document.querySelector('#trace-body .error-box') && document.querySelector('#trace-body .error-box').textContent.includes('odd.json') && document.querySelector('#trace-body .error-box').textContent", "shape error");
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("span 0 (2): annotations is not what Zipkin v2 JSON allows there"),
        "{message}"
    );

    // Two traces in one file: a link between them stays in the file.
    let pair = dir.join("pair.json");
    let mut first = sample_trace(
        "00000000000000000000000000000e01",
        "svc",
        "first",
        micros_ago(60),
    );
    first[1]["tags"]["otel.link.0.trace_id"] = json!("e02");
    first[1]["tags"]["otel.link.0.span_id"] = json!("a000000000000003");
    let second = sample_trace(
        "00000000000000000000000000000e02",
        "svc",
        "second",
        micros_ago(50),
    );
    std::fs::write(&pair, serde_json::to_vec(&json!([first, second])).unwrap()).unwrap();
    browser.type_into("#upload", pair.to_str().unwrap());
    browser.wait_for("location.hash === '#/upload/00000000000000000000000000000e01' && document.body.dataset.ready === 'true' && document.querySelectorAll('.upload-list a').length === 2", "the first trace of the pair");
    browser.click(".wf-span[data-span-id='a000000000000002'] a.link-chip");
    browser.wait_for("location.hash === '#/upload/0000000000000e02?span=a000000000000003' && document.querySelector('.trace-title').textContent === 'second' && document.querySelector('.wf-span.selected[data-span-id=\"a000000000000003\"]')", "the linked span in the same file");
    browser.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
