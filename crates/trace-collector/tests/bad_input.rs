//! Bad input gets a 4xx with a clear message, stored traces survive, and the
//! collector keeps serving afterwards.

mod common;

use std::io::Write;

use common::*;
use trace_collector::Collector;

const KEPT: &str = "0123456789abcdef0123456789abcdef";

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_requests_leave_stored_data_intact() {
    let limit = 64 * 1024;
    let collector = Collector::builder()
        .max_body_bytes(limit)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let base = collector.base_url();
    let zipkin = format!("{base}/api/v2/spans");
    let otlp = format!("{base}/v1/traces");
    assert_eq!(
        post_zipkin(&base, &sample_trace(KEPT, "app", "kept", micros_ago(5))).status,
        202
    );

    let json = [("content-type", "application/json")];
    let cases: Vec<(&str, Reply, u16, &str)> = vec![
        (
            "malformed JSON",
            post(&zipkin, &json, b"[{\"traceId\": "),
            400,
            "malformed Zipkin v2 JSON",
        ),
        (
            "object, not array",
            post(&zipkin, &json, br#"{"traceId":"01","id":"02"}"#),
            400,
            "expected an array",
        ),
        (
            "bad span id",
            post(&zipkin, &json, br#"[{"traceId":"01","id":"zz"}]"#),
            400,
            "span #0 rejected",
        ),
        (
            "thrift content type",
            post(
                &zipkin,
                &[("content-type", "application/x-thrift")],
                b"\x0c\x00",
            ),
            415,
            "unsupported Content-Type",
        ),
        (
            "OTLP without content type",
            post(&otlp, &[], b"\x0a\x00"),
            415,
            "expected application/x-protobuf or application/json",
        ),
        (
            "OTLP garbage protobuf",
            post(
                &otlp,
                &[("content-type", "application/x-protobuf")],
                b"\xff\xff\xff",
            ),
            400,
            "invalid OTLP protobuf",
        ),
        (
            "OTLP malformed JSON",
            post(&otlp, &json, b"{\"resourceSpans\": ["),
            400,
            "invalid OTLP JSON",
        ),
        (
            "oversized body",
            post(&zipkin, &json, &vec![b' '; limit + 1]),
            413,
            "exceeds the limit of 65536 bytes",
        ),
        (
            "gzip bomb",
            post(
                &zipkin,
                &[
                    ("content-type", "application/json"),
                    ("content-encoding", "gzip"),
                ],
                // 50 MiB of spaces packs into ~50 KiB, under the raw limit.
                &gzip(&vec![b' '; 50 * 1024 * 1024]),
            ),
            413,
            "decompressed request body exceeds the limit",
        ),
        (
            "corrupt gzip",
            post(
                &zipkin,
                &[
                    ("content-type", "application/json"),
                    ("content-encoding", "gzip"),
                ],
                b"definitely not gzip",
            ),
            400,
            "could not decompress",
        ),
        (
            "unknown encoding",
            post(
                &zipkin,
                &[
                    ("content-type", "application/json"),
                    ("content-encoding", "br"),
                ],
                b"[]",
            ),
            415,
            "unsupported Content-Encoding",
        ),
    ];
    for (what, reply, status, message) in cases {
        assert_eq!(reply.status, status, "{what}: {}", reply.text());
        assert!(
            reply.text().contains(message),
            "{what}: message {:?} lacks {message:?}",
            reply.text()
        );
    }

    // A batch with one bad span stores none of it.
    let mut mixed = sample_trace(
        "00000000000000000000000000000bad",
        "app",
        "half",
        micros_ago(1),
    );
    mixed[2]["id"] = "not-an-id".into();
    assert_eq!(post_zipkin(&base, &mixed).status, 400);
    assert_eq!(
        get(&base, "/api/v2/trace/00000000000000000000000000000bad").status,
        404
    );

    // Everything from before is still there and new input still works.
    let kept = get(&base, &format!("/api/v2/trace/{KEPT}"));
    assert_eq!(kept.status, 200);
    assert_eq!(
        common::names(&kept.json()),
        vec!["kept", "memcache.get", "memcache.set"]
    );
    assert_eq!(collector.stats().spans, 3);
    let after = "fedcba9876543210fedcba9876543210";
    assert_eq!(
        post_zipkin(&base, &sample_trace(after, "app", "after", micros_ago(1))).status,
        202
    );
    assert_eq!(get(&base, &format!("/api/v2/trace/{after}")).status, 200);
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_limit_is_eight_mib() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    // Just over 8 MiB of JSON whitespace around an empty array.
    let mut body = vec![b' '; 8 * 1024 * 1024 - 1];
    body.extend_from_slice(b"[]");
    let reply = post(
        &format!("{base}/api/v2/spans"),
        &[("content-type", "application/json")],
        &body,
    );
    assert_eq!(reply.status, 413, "{}", reply.text());
    body.truncate(8 * 1024 * 1024 - 2);
    body.extend_from_slice(b"[]");
    let reply = post(
        &format!("{base}/api/v2/spans"),
        &[("content-type", "application/json")],
        &body,
    );
    assert_eq!(reply.status, 202, "{}", reply.text());
    collector.shutdown().await.unwrap();
}
