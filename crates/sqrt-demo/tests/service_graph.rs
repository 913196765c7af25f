//! The demo's trace as a service graph: exported over Zipkin and over OTLP,
//! the collector's `/api/v2/dependencies` must show `sqrt-demo -> memcached`
//! with one call per memcached client span, and every such span must name
//! memcached as its remote service (what Zipkin and Jaeger draw edges from).

use std::process::Command;

use memcached_harness::Memcached;
use trace_collector::{fetch_dependencies, fetch_trace, Collector, Kind, Span};

/// Runs the demo with the given exporter variables; returns its trace id.
fn run_demo(memcached: &Memcached, exporter_env: &[(&str, String)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sqrt-demo"))
        .args(["--memcached", &memcached.addr().to_string()])
        .envs(exporter_env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run sqrt-demo");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("trace id: "))
        .expect("trace id line")
        .trim()
        .to_string()
}

fn is_memcached_client_span(span: &Span) -> bool {
    span.kind == Some(Kind::Client)
        && span.tags.get("db.system.name").map(String::as_str) == Some("memcached")
}

async fn check_graph(exporter: &str) {
    let memcached = Memcached::start().expect("memcached");
    let collector = Collector::builder()
        .bind("127.0.0.1:0")
        .await
        .expect("collector");
    let base_url = collector.base_url();
    let env: Vec<(&str, String)> = match exporter {
        "zipkin" => vec![
            ("OTEL_TRACES_EXPORTER", "zipkin".into()),
            ("OTEL_EXPORTER_ZIPKIN_ENDPOINT", collector.zipkin_endpoint()),
        ],
        _ => vec![
            ("OTEL_TRACES_EXPORTER", "otlp".into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", base_url.clone()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        ],
    };
    let (trace_id, spans, links) = tokio::task::block_in_place(|| {
        let trace_id = run_demo(&memcached, &env);
        let spans = fetch_trace(&base_url, &trace_id).expect("the demo's trace");
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_millis() as u64;
        let links = fetch_dependencies(&base_url, now_ms + 60_000, 3_600_000).expect("deps");
        (trace_id, spans, links)
    });

    let client_spans: Vec<&Span> = spans
        .iter()
        .filter(|s| is_memcached_client_span(s))
        .collect();
    assert!(
        client_spans.len() >= 10,
        "{exporter}: trace {trace_id} has {} memcached client spans",
        client_spans.len()
    );
    for span in &client_spans {
        let remote = span.remote_endpoint.as_ref();
        assert_eq!(
            remote.and_then(|e| e.service_name.as_deref()),
            Some("memcached"),
            "{exporter}: {:?} names no remote service memcached",
            span.name
        );
        assert!(
            remote.and_then(|e| e.port).is_some(),
            "{exporter}: {:?} names no remote port",
            span.name
        );
    }
    let errors = client_spans
        .iter()
        .filter(|s| s.tags.contains_key("error"))
        .count() as u64;

    // The collector holds only this run's trace, so the edge counts it alone.
    let edge = links
        .iter()
        .find(|l| l.parent == "sqrt-demo" && l.child == "memcached")
        .unwrap_or_else(|| panic!("{exporter}: no sqrt-demo -> memcached in {links:?}"));
    assert_eq!(edge.call_count, client_spans.len() as u64, "{exporter}");
    assert_eq!(edge.error_count, errors, "{exporter}");
    collector.shutdown().await.expect("collector stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zipkin_export_gives_sqrt_demo_to_memcached() {
    check_graph("zipkin").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_export_gives_sqrt_demo_to_memcached() {
    check_graph("otlp").await;
}
