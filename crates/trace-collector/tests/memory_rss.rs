//! Resident memory of the real binary with default limits under hostile
//! posting: huge tags, the store filled, everything queried at once, bodies
//! packed with minimal spans from concurrent posters, gzip bombs. Ignored by default
//! (it posts a few GiB); run it with
//! `cargo test -p trace-collector --release --test memory_rss -- --ignored --nocapture`.
//! It asserts that peak RSS stays under 512 MiB while ingesting and prints
//! the figures the README quotes. Linux only (reads /proc).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use common::*;

const LIMIT_MIB: u64 = 512;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trace-collector"))
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start collector");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("address line")
        .to_owned();
    Server { child, base }
}

/// (current RSS, peak RSS) in MiB.
fn rss(server: &Server) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap()
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Prints the phase's figures and starts the next phase's peak afresh.
fn report(server: &Server, phase: &str) -> u64 {
    let stats = get(&server.base, "/api/collector/stats").json();
    let (now, peak) = rss(server);
    // "5" resets VmHWM to the current RSS (Linux 4.0 and later).
    let _ = std::fs::write(format!("/proc/{}/clear_refs", server.child.id()), "5");
    println!(
        "{phase:<48} rss {now:>4} MiB  peak {peak:>4} MiB  store {:>4} MiB in {} traces / {} spans",
        stats["bytes"].as_u64().unwrap() >> 20,
        stats["traces"],
        stats["spans"]
    );
    peak
}

/// Nearly `size` bytes of the smallest valid spans, a thousand to a trace.
fn packed_small_spans(first: u64, size: usize) -> Vec<u8> {
    let mut body = b"[".to_vec();
    let mut n = first;
    while body.len() < size - 64 {
        if n > first {
            body.push(b',');
        }
        write!(body, r#"{{"traceId":"{:x}","id":"{n:x}"}}"#, n / 1000).unwrap();
        n += 1;
    }
    body.push(b']');
    body
}

/// Nearly `size` bytes of OTLP protobuf holding the smallest spans, one scope.
fn packed_otlp_spans(first: u64, size: usize) -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message as _;
    let per_span = Span {
        trace_id: vec![1; 16],
        span_id: vec![1; 8],
        ..Span::default()
    }
    .encoded_len()
        + 3;
    let spans = (0..(size / per_span) as u64 - 16)
        .map(|i| Span {
            trace_id: ((first + i) / 1000 + 1).to_be_bytes().repeat(2),
            span_id: (first + i + 1).to_be_bytes().to_vec(),
            ..Span::default()
        })
        .collect();
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    };
    request.encode_to_vec()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn post_raw(base: &str, body: &[u8], gzip: bool) -> u16 {
    let mut headers = vec![("content-type", "application/json")];
    if gzip {
        headers.push(("content-encoding", "gzip"));
    }
    post(&format!("{base}/api/v2/spans"), &headers, body).status
}

#[test]
#[ignore = "posts several GiB; run explicitly, preferably with --release"]
fn resident_memory_stays_bounded_with_default_limits() {
    let server = start();
    let base = server.base.clone();
    let mut peak = report(&server, "idle");

    // The issue's case and more: 300 spans with a 7 MiB tag each.
    for n in 0..300u64 {
        let span = serde_json::json!([{
            "traceId": format!("{:032x}", n + 1), "id": "0000000000000001", "name": "big",
            "timestamp": micros_ago(60), "tags": {"payload": "x".repeat(7 << 20)}
        }]);
        assert_eq!(post_zipkin(&base, &span).status, 202);
    }
    peak = peak.max(report(&server, "300 spans with 7 MiB tags"));

    // Values just under the cap, 100 spans a trace, fill the byte budget.
    for n in 0..3_000u64 {
        let span = serde_json::json!([{
            "traceId": format!("{:032x}", 1_000_000 + n / 100), "id": format!("{:016x}", n + 1),
            "timestamp": micros_ago(60), "tags": {"payload": "y".repeat(60 << 10)}
        }]);
        assert_eq!(post_zipkin(&base, &span).status, 202);
    }
    peak = peak.max(report(&server, "3 000 spans with 60 KiB tags (store full)"));
    let all = get(&base, "/api/v2/traces?limit=1000000&lookback=100000000000");
    assert_eq!(all.status, 200);
    let query_peak = report(
        &server,
        &format!(
            "query of every trace ({} MiB of JSON)",
            all.body.len() >> 20
        ),
    );
    drop(all);

    // Bodies packed with minimal spans, eight posters at once: 8 MiB ones
    // decode past the batch budget (413), 2 MiB ones fit it.
    for size in [8 << 20, 2 << 20] {
        let zipkin: Vec<Vec<u8>> = (0..8u64)
            .map(|t| packed_small_spans(1 + t * 400_000, size))
            .collect();
        let otlp: Vec<Vec<u8>> = (0..8u64)
            .map(|t| packed_otlp_spans(t * 400_000, size))
            .collect();
        let statuses = std::sync::Mutex::new(std::collections::BTreeMap::new());
        std::thread::scope(|scope| {
            for (z, o) in zipkin.iter().zip(&otlp) {
                let (base, statuses) = (&base, &statuses);
                scope.spawn(move || {
                    for _ in 0..2 {
                        let a = post_raw(base, z, false);
                        let b = post(
                            &format!("{base}/v1/traces"),
                            &[("content-type", "application/x-protobuf")],
                            o,
                        )
                        .status;
                        let mut s = statuses.lock().unwrap();
                        *s.entry(("zipkin", a)).or_insert(0) += 1;
                        *s.entry(("otlp", b)).or_insert(0) += 1;
                    }
                });
            }
        });
        let statuses = statuses.into_inner().unwrap();
        assert!(
            statuses
                .keys()
                .all(|(_, status)| [200, 202, 413].contains(status)),
            "{statuses:?}"
        );
        let phase = format!("8 posters x 2+2 bodies of {} MiB tiny spans", size >> 20);
        peak = peak.max(report(&server, &phase));
        println!("    answers: {statuses:?}");
    }

    // Gzip bombs: 1 GiB of spaces each, eight at once; all refused.
    let bomb = gzip(&vec![b' '; 1 << 30]);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            let (base, bomb) = (&base, &bomb);
            scope.spawn(move || assert_eq!(post_raw(base, bomb, true), 413));
        }
    });
    peak = peak.max(report(&server, "8 concurrent gzip bombs (1 GiB each)"));
    assert!(
        peak < LIMIT_MIB,
        "peak RSS {peak} MiB while ingesting, limit {LIMIT_MIB} MiB"
    );

    println!(
        "peak while ingesting {peak} MiB; while answering a query for everything {query_peak} MiB"
    );
}
