//! Spans appended to the span log come back after a restart, within the cap.

mod common;

use common::*;
use trace_collector::Collector;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_survive_a_restart() {
    let dir = scratch_dir("restart");
    let log = dir.join("spans.jsonl");
    let first = "11111111111111111111111111111111";
    let second = "22222222222222222222222222222222";

    let collector = Collector::builder()
        .persist_path(&log)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let base = collector.base_url();
    assert_eq!(
        post_zipkin(&base, &sample_trace(first, "app", "before", micros_ago(20))).status,
        202
    );
    assert_eq!(
        post_zipkin(&base, &sample_trace(second, "app", "also", micros_ago(10))).status,
        202
    );
    collector.shutdown().await.unwrap();
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 6);

    let collector = Collector::builder()
        .persist_path(&log)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let base = collector.base_url();
    let trace = get(&base, &format!("/api/v2/trace/{first}"));
    assert_eq!(trace.status, 200);
    assert_eq!(
        common::names(&trace.json()),
        vec!["before", "memcache.get", "memcache.set"]
    );
    assert_eq!(
        get(&base, "/api/v2/services").json(),
        serde_json::json!(["app"])
    );
    assert_eq!(collector.stats().spans, 6);
    // Spans received after the restart are appended too.
    let third = "33333333333333333333333333333333";
    assert_eq!(
        post_zipkin(&base, &sample_trace(third, "app", "after", micros_ago(1))).status,
        202
    );
    collector.shutdown().await.unwrap();

    // A smaller cap on the next start keeps the newest traces and compacts the file.
    let collector = Collector::builder()
        .persist_path(&log)
        .max_traces(1)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let base = collector.base_url();
    assert_eq!(get(&base, &format!("/api/v2/trace/{third}")).status, 200);
    assert_eq!(get(&base, &format!("/api/v2/trace/{first}")).status, 404);
    collector.shutdown().await.unwrap();
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 3);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_log_path_is_a_clear_start_error() {
    let dir = scratch_dir("unwritable");
    // A directory where the file should be cannot be opened as a log.
    let err = Collector::builder()
        .persist_path(&dir)
        .bind("127.0.0.1:0")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("span log"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
