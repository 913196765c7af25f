//! Cross-site browser writes are refused (403) on both ingest routes while
//! exporters, which send no `Origin` or `Sec-Fetch-Site`, keep working; with
//! an ingest token, ingest needs `Authorization: Bearer <token>` (401).

mod common;

use common::*;
use trace_collector::Collector;

const TRACE: &str = "0123456789abcdef0123456789abcdef";

fn body() -> Vec<u8> {
    serde_json::to_vec(&sample_trace(TRACE, "app", "root", micros_ago(5))).unwrap()
}

/// An OTLP/JSON request with one span.
const OTLP: &[u8] = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0123456789abcdef0123456789abcdef","spanId":"00000000000000f1","name":"otlp","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_browser_writes_are_refused() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    let own = base.clone();
    let zipkin = format!("{base}/api/v2/spans");
    let otlp = format!("{base}/v1/traces");
    let refused: Vec<(&str, Vec<(&str, &str)>)> = vec![
        // What a no-cors fetch from another site sends (no content type).
        (
            "cross-site",
            vec![
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example"),
            ],
        ),
        (
            "same-site",
            vec![
                ("sec-fetch-site", "same-site"),
                ("origin", "http://localhost:3000"),
            ],
        ),
        ("origin only", vec![("origin", "https://evil.example")]),
        ("null origin", vec![("origin", "null")]),
        ("fetch-site only", vec![("sec-fetch-site", "cross-site")]),
        (
            "rebound name",
            vec![
                ("host", "rebind.example"),
                ("origin", "http://rebind.example"),
                ("sec-fetch-site", "same-origin"),
            ],
        ),
    ];
    for (what, headers) in &refused {
        for url in [&zipkin, &otlp] {
            let mut h = headers.clone();
            if url == &otlp {
                h.push(("content-type", "application/json"));
            }
            let payload = if url == &otlp { OTLP.to_vec() } else { body() };
            let reply = post(url, &h, &payload);
            assert_eq!(reply.status, 403, "{what} {url}: {}", reply.text());
            assert!(
                reply.text().contains("cross-site write refused"),
                "{}",
                reply.text()
            );
        }
    }
    assert_eq!(collector.stats().spans, 0, "nothing refused was stored");
    // Reads are not writes: the query API still answers a cross-site GET.
    assert_eq!(get(&base, "/api/v2/spans?serviceName=app").status, 200);

    // Exporters (no browser headers) and the collector's own page pass.
    assert_eq!(post(&zipkin, &[], &body()).status, 202);
    let same_origin = [("origin", own.as_str()), ("sec-fetch-site", "same-origin")];
    assert_eq!(post(&zipkin, &same_origin, &body()).status, 202);
    let reply = post(&otlp, &[("content-type", "application/json")], OTLP);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(collector.stats().spans, 4);
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_token_is_required_when_set() {
    let collector = Collector::builder()
        .ingest_token("t0ken-for-tests")
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let base = collector.base_url();
    let zipkin = format!("{base}/api/v2/spans");
    let otlp = format!("{base}/v1/traces");
    let json = ("content-type", "application/json");
    for headers in [
        vec![],
        vec![("authorization", "Bearer wrong")],
        vec![("authorization", "t0ken-for-tests")],
        vec![("authorization", "Basic t0ken-for-tests")],
    ] {
        let reply = post(&zipkin, &headers, &body());
        assert_eq!(reply.status, 401, "{headers:?}: {}", reply.text());
        let mut with_type = headers.clone();
        with_type.push(json);
        assert_eq!(post(&otlp, &with_type, OTLP).status, 401, "{headers:?}");
    }
    assert_eq!(collector.stats().spans, 0);
    let auth = ("authorization", "Bearer t0ken-for-tests");
    assert_eq!(post(&zipkin, &[auth], &body()).status, 202);
    assert_eq!(post(&otlp, &[auth, json], OTLP).status, 200);
    // The token does not let another site write through a browser.
    assert_eq!(
        post(&zipkin, &[auth, ("sec-fetch-site", "cross-site")], &body()).status,
        403
    );
    assert_eq!(collector.stats().spans, 4);
    assert_eq!(get(&base, &format!("/api/v2/trace/{TRACE}")).status, 200);
    collector.shutdown().await.unwrap();
}
