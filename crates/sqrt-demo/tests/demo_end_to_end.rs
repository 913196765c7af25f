//! The demo binary against a real memcached and the trace collector: the
//! printed roots are checked by an independent method, and the span tree is
//! read back from the collector, not reconstructed locally.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use memcached_harness::Memcached;
use rug::ops::Pow;
use rug::Integer;
use sqrt_demo::numbers::SEED_NUMBERS;
use trace_collector::{Collector, Kind, Span};

struct DemoRun {
    lines: Vec<(String, String)>,
    trace_id: String,
    stdout: String,
}

fn run_demo(memcached: &Memcached, zipkin_endpoint: &str, extra: &[&str]) -> DemoRun {
    let out = Command::new(env!("CARGO_BIN_EXE_sqrt-demo"))
        .args(["--memcached", &memcached.addr().to_string()])
        .args(extra)
        .env("OTEL_TRACES_EXPORTER", "zipkin")
        .env("OTEL_EXPORTER_ZIPKIN_ENDPOINT", zipkin_endpoint)
        .output()
        .expect("run sqrt-demo");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 output");
    assert!(
        out.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = stdout
        .lines()
        .filter_map(|l| l.split_once(" ==> "))
        .map(|(n, r)| (n.trim().to_string(), r.trim().to_string()))
        .collect();
    let trace_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("trace id: "))
        .expect("trace id line")
        .trim()
        .to_string();
    DemoRun {
        lines,
        trace_id,
        stdout,
    }
}

/// Checks `root` (with `digits` fractional digits) against n by squaring:
/// r^2 <= n * 10^(2d) < (r + 1)^2, with r the root without its decimal point.
fn is_truncated_root(n: &str, root: &str, digits: usize) -> bool {
    let (int, frac) = root.split_once('.').expect("a decimal point");
    if frac.len() != digits {
        return false;
    }
    let n: Integer = n.parse().expect("number");
    let r: Integer = format!("{int}{frac}").parse().expect("root digits");
    let scaled = n * Integer::from(10).pow(2 * digits as u32);
    let next = Integer::from(&r + 1u32);
    Integer::from(r.square_ref()) <= scaled && scaled < next.square()
}

fn children<'a>(spans: &'a [Span], parent: &Span) -> Vec<&'a Span> {
    let mut kids: Vec<&Span> = spans
        .iter()
        .filter(|s| s.parent_id.as_deref() == Some(parent.id.as_str()))
        .collect();
    kids.sort_by_key(|s| s.timestamp);
    kids
}

fn descendants<'a>(spans: &'a [Span], parent: &Span) -> Vec<&'a Span> {
    let mut out = Vec::new();
    let mut stack = vec![parent];
    while let Some(p) = stack.pop() {
        for kid in children(spans, p) {
            out.push(kid);
            stack.push(kid);
        }
    }
    out
}

fn name(span: &Span) -> &str {
    span.name.as_deref().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_prints_exact_roots_and_exports_the_seed_span_tree() {
    let memcached = Memcached::start().expect("memcached");
    let collector = Collector::builder()
        .bind("127.0.0.1:0")
        .await
        .expect("collector");
    let endpoint = collector.zipkin_endpoint();
    let base_url = collector.base_url();

    let run = {
        let endpoint = endpoint.clone();
        let memcached = &memcached;
        tokio::task::block_in_place(|| run_demo(memcached, &endpoint, &[]))
    };

    // Ten lines: each seed number twice, in order, with an exact root.
    assert_eq!(run.lines.len(), 10, "{}", run.stdout);
    for (i, (number, root)) in run.lines.iter().enumerate() {
        assert_eq!(number, SEED_NUMBERS[i / 2]);
        assert!(is_truncated_root(number, root, 10), "{number} ==> {root}");
    }
    assert!(run.lines[0].1.starts_with("3162277531121885666105"));
    assert!(run
        .stdout
        .contains("Sending all pending spans before terminating."));

    // The trace, as the collector stored it.
    let trace_id = run.trace_id.clone();
    let spans = tokio::task::block_in_place(|| {
        trace_collector::wait_for_trace(
            &base_url,
            &trace_collector::TraceFilter::root("MemcacheRustUsage"),
            Duration::from_secs(20),
        )
        .expect("trace reached the collector")
    });
    assert!(spans.iter().all(|s| s.trace_id == trace_id));
    let roots: Vec<&Span> = spans.iter().filter(|s| s.parent_id.is_none()).collect();
    assert_eq!(roots.len(), 1);
    let root = roots[0];
    assert_eq!(name(root), "MemcacheRustUsage");

    let per_number = children(&spans, root);
    let names: Vec<&str> = per_number.iter().map(|s| name(s)).collect();
    let expected: Vec<String> = SEED_NUMBERS
        .iter()
        .map(|n| format!("CalculateSquareRoot-{n}"))
        .collect();
    assert_eq!(names, expected);

    for number_span in per_number {
        let kids = children(&spans, number_span);
        let kid_names: Vec<&str> = kids.iter().map(|s| name(s)).collect();
        assert_eq!(kid_names, ["Round-1", "Round-2", "sqrt.forget"]);
        let round1: Vec<&str> = descendants(&spans, kids[0])
            .iter()
            .map(|s| name(s))
            .collect();
        let round2: Vec<&str> = descendants(&spans, kids[1])
            .iter()
            .map(|s| name(s))
            .collect();
        assert!(
            round1.contains(&"sqrt.compute"),
            "round 1 computes: {round1:?}"
        );
        assert!(round1.contains(&"meta_set"), "round 1 stores: {round1:?}");
        assert!(
            !round2.contains(&"sqrt.compute"),
            "round 2 hits: {round2:?}"
        );
        assert!(round2.contains(&"meta_get"), "round 2 looks up: {round2:?}");
        assert_eq!(
            kids[0].tags.get("sqrt.source").map(String::as_str),
            Some("computed")
        );
        assert_eq!(
            kids[1].tags.get("sqrt.source").map(String::as_str),
            Some("hit")
        );
        let forget: Vec<&str> = descendants(&spans, kids[2])
            .iter()
            .map(|s| name(s))
            .collect();
        assert!(
            forget.contains(&"meta_delete"),
            "cleanup deletes: {forget:?}"
        );
    }

    // The client's spans follow the database client conventions.
    let client_spans: Vec<&Span> = spans
        .iter()
        .filter(|s| name(s).starts_with("meta_"))
        .collect();
    assert!(client_spans.len() >= 20);
    let port = memcached.addr().port().to_string();
    for span in client_spans {
        let tags: &std::collections::BTreeMap<String, String> = &span.tags;
        assert_eq!(span.kind, Some(Kind::Client), "{}", name(span));
        assert_eq!(
            tags.get("db.system.name").map(String::as_str),
            Some("memcached")
        );
        assert_eq!(tags.get("server.port"), Some(&port));
        assert!(tags.contains_key("db.operation.name"));
    }

    // Cleanup ran: a second run misses again in round 1.
    let again = tokio::task::block_in_place(|| run_demo(&memcached, &endpoint, &[]));
    assert_eq!(again.lines, run.lines);
    let _ = collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_numbers_digits_and_no_cleanup() {
    let memcached = Memcached::start().expect("memcached");
    let run = tokio::task::block_in_place(|| {
        run_demo(
            &memcached,
            "http://127.0.0.1:9/api/v2/spans",
            &[
                "--digits",
                "30",
                "--no-cleanup",
                "--exporter",
                "none",
                "2",
                "1_000_000",
            ],
        )
    });
    let got: HashMap<&str, &str> = run
        .lines
        .iter()
        .map(|(n, r)| (n.as_str(), r.as_str()))
        .collect();
    assert_eq!(got["2"], "1.414213562373095048801688724209");
    assert_eq!(got["1000000"], "1000.000000000000000000000000000000");
    // --no-cleanup left both entries in memcached.
    let stats = memcached_stat(&memcached, "curr_items");
    assert!(stats >= 2, "entries kept: {stats}");
}

fn memcached_stat(server: &Memcached, name: &str) -> u64 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(server.addr()).expect("connect");
    s.write_all(b"stats\r\n").expect("write");
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while !text.ends_with("END\r\n") {
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0);
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("STAT {name} ")))
        .and_then(|v| v.trim().parse().ok())
        .expect("stat present")
}
