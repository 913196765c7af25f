//! The attack of issue 13.7 in a real browser: a page from another site
//! (here `http://localhost:<port>`, cross-site to `127.0.0.1`) makes
//! headless Chromium send a `no-cors` POST without a content type to the
//! collector. The fetch completes (the page records it) but nothing is
//! stored.

mod common;

use axum::response::Html;
use axum::routing::get;
use common::*;
use trace_collector::Collector;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_from_another_site_cannot_post_spans() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let spans = sample_trace(
        "0000000000000000000000000000a77a",
        "evil",
        "injected",
        micros_ago(1),
    );
    let page = format!(
        r#"<!doctype html><body data-sent="no"><script>
        fetch("{}", {{method: "POST", mode: "no-cors", body: new Blob([{}])}})
          .then(() => document.body.setAttribute("data-sent", "yes"))
          .catch((e) => document.body.setAttribute("data-sent", "failed: " + e));
        </script></body>"#,
        collector.zipkin_endpoint(),
        serde_json::to_string(&spans.to_string()).unwrap()
    );
    let site = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site_port = site.local_addr().unwrap().port();
    let app = axum::Router::new().route("/", get(move || async move { Html(page) }));
    let server = tokio::spawn(async move { axum::serve(site, app).await });

    let url = format!("http://localhost:{site_port}/");
    let dom = tokio::task::spawn_blocking(move || chromium::dom_after_scripts(&url))
        .await
        .unwrap();
    assert!(
        dom.contains(r#"data-sent="yes""#),
        "the fetch did not complete: {dom}"
    );
    assert_eq!(collector.stats().spans, 0, "a cross-site page stored spans");
    server.abort();
    collector.shutdown().await.unwrap();
}
