//! The terminal view: the library functions the demo task calls, and the
//! `trace-collector print` / `latest` commands, against a running collector.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use trace_collector::{
    render_latest, render_trace, wait_for_trace, ClientError, Collector, TraceFilter,
};

const OLD: &str = "000000000000000000000000000000a1";
const NEW: &str = "000000000000000000000000000000a2";

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renders_the_newest_matching_trace_as_a_tree() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    assert_eq!(
        post_zipkin(
            &base,
            &sample_trace(OLD, "sqrt-app", "sqrt.batch", micros_ago(30))
        )
        .status,
        202
    );
    assert_eq!(
        post_zipkin(
            &base,
            &sample_trace(NEW, "sqrt-app", "sqrt.batch", micros_ago(5))
        )
        .status,
        202
    );

    let b = base.clone();
    let tree = blocking(move || render_latest(&b, &TraceFilter::root("sqrt.batch")))
        .await
        .unwrap();
    let lines: Vec<&str> = tree.lines().collect();
    assert!(
        lines[0].starts_with(&format!("trace {NEW}  (3 spans, 1 services, 5.000 ms)")),
        "{tree}"
    );
    assert!(lines[1].starts_with("sqrt.batch [sqrt-app]"), "{tree}");
    assert!(
        lines[2].starts_with("├─ memcache.get [sqrt-app]") && lines[2].contains("800 µs"),
        "{tree}"
    );
    assert!(
        lines[3].starts_with("└─ memcache.set [sqrt-app]")
            && lines[3].ends_with("[error: connection reset]"),
        "{tree}"
    );

    let b = base.clone();
    let by_service = blocking(move || render_latest(&b, &TraceFilter::service("sqrt-app")))
        .await
        .unwrap();
    assert_eq!(by_service, tree);

    // "memcache.get" names a span, but no trace's root.
    let b = base.clone();
    let none = blocking(move || render_latest(&b, &TraceFilter::root("memcache.get"))).await;
    assert!(
        matches!(none, Err(ClientError::NoMatchingTrace(_))),
        "{none:?}"
    );

    let b = base.clone();
    let old = blocking(move || render_trace(&b, OLD)).await.unwrap();
    assert!(old.starts_with(&format!("trace {OLD}")));
    let b = base.clone();
    let missing = blocking(move || render_trace(&b, "00000000000000ff")).await;
    assert!(
        matches!(missing, Err(ClientError::TraceNotFound(_))),
        "{missing:?}"
    );

    let b = base.clone();
    let waited = blocking(move || {
        wait_for_trace(&b, &TraceFilter::root("never"), Duration::from_millis(300))
    })
    .await;
    assert!(matches!(waited, Err(ClientError::NoMatchingTrace(_))));
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn print_command_prints_the_tree() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    assert_eq!(
        post_zipkin(
            &base,
            &sample_trace(NEW, "sqrt-app", "sqrt.batch", micros_ago(5))
        )
        .status,
        202
    );
    let exe = env!("CARGO_BIN_EXE_trace-collector");

    let b = base.clone();
    let out = blocking(move || {
        Command::new(exe)
            .args(["print", NEW, "--url", &b])
            .output()
            .unwrap()
    })
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("sqrt.batch [sqrt-app]") && text.contains("└─ memcache.set"),
        "{text}"
    );

    let b = base.clone();
    let out = blocking(move || {
        Command::new(exe)
            .args(["latest", "--service", "sqrt-app", "--url", &b])
            .output()
            .unwrap()
    })
    .await;
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), text);

    let b = base.clone();
    let out = blocking(move || {
        Command::new(exe)
            .args(["print", "00000000000000ff", "--url", &b])
            .output()
            .unwrap()
    })
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("trace 00000000000000ff not found"));
    collector.shutdown().await.unwrap();
}

#[test]
fn binary_serves_until_interrupted() {
    // The binary itself, not just the library: start, answer, stop on SIGINT.
    let exe = env!("CARGO_BIN_EXE_trace-collector");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut child = Command::new(exe)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--max-traces",
            "10",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut healthy = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && get(&base, "/health").status == 200
        {
            healthy = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let index = if healthy { Some(get(&base, "/")) } else { None };
    // Ctrl-C, as a person at the terminal would stop it.
    let signalled = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let status = child.wait().unwrap();
    assert!(healthy, "binary never answered /health");
    let index = index.unwrap();
    assert!(index.content_type.starts_with("text/html"));
    assert!(index.text().contains("<title>Trace Collector</title>"));
    assert!(status.success(), "exit after SIGINT: {status}");
}
