//! Distributed single flight: many callers missing one cold key at once
//! compute the root exactly once, within one process (8 tokio tasks, shared
//! or separate engines, both store implementations) and across 8 processes.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{fresh_number, test_config};
use memcache_client::Client;
use rug::Integer;
use sha2::{Digest, Sha256};
use sqrt_memo::{
    sqrt_decimal, CanonicalDecimal, MemoKey, MemoStore, Source, SqrtMemo, SqrtOutcome,
};
use tokio::sync::Barrier;

const CALLERS: usize = 8;
/// Big enough that the computation takes a while, so callers overlap.
const NUMBER_DIGITS: usize = 200_000;
const ROOT_DIGITS: u32 = 2_000;

async fn race<S: MemoStore + 'static>(
    engines: Vec<Arc<SqrtMemo<S>>>,
    n: Integer,
) -> Vec<SqrtOutcome> {
    let barrier = Arc::new(Barrier::new(engines.len()));
    let n = Arc::new(n);
    let tasks: Vec<_> = engines
        .into_iter()
        .map(|memo| {
            let (barrier, n) = (barrier.clone(), n.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                memo.sqrt(&n, ROOT_DIGITS).await.unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

fn assert_one_computation(outcomes: &[SqrtOutcome], n: &Integer) {
    let expected = sqrt_decimal(n, ROOT_DIGITS).unwrap();
    let computed = outcomes.iter().filter(|o| o.source.computed()).count();
    assert_eq!(
        computed,
        1,
        "sources: {:?}",
        outcomes.iter().map(|o| o.source).collect::<Vec<_>>()
    );
    assert!(outcomes.iter().all(|o| o.root == expected));
    assert!(outcomes.iter().all(|o| matches!(
        o.source,
        Source::Computed | Source::Hit | Source::HitAfterWait
    )));
}

/// One engine per caller, each with its own client and connections, as
/// separate processes would have.
fn separate_engines() -> Vec<Arc<SqrtMemo<Client>>> {
    (0..CALLERS)
        .map(|_| Arc::new(common::engine(test_config())))
        .collect()
}

fn total_computations(engines: &[Arc<SqrtMemo<Client>>]) -> u64 {
    engines.iter().map(|e| e.stats().computations).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_tasks_on_one_engine_compute_once() {
    let memo = Arc::new(common::engine(test_config()));
    let n = fresh_number(NUMBER_DIGITS);
    let outcomes = race(vec![memo.clone(); CALLERS], n.clone()).await;
    assert_eq!(memo.stats().computations, 1);
    assert_one_computation(&outcomes, &n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_engines_over_the_traced_client_compute_once() {
    let engines = separate_engines();
    let n = fresh_number(NUMBER_DIGITS);
    let outcomes = race(engines.clone(), n.clone()).await;
    assert_eq!(total_computations(&engines), 1);
    assert_one_computation(&outcomes, &n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_corrupt_value_is_overwritten_by_one_caller() {
    let engines = separate_engines();
    let n = fresh_number(NUMBER_DIGITS);
    let key = MemoKey::new(&CanonicalDecimal::from_integer(&n).unwrap(), ROOT_DIGITS);
    common::memo_store(&engines[0])
        .meta_set(key.as_str(), b"not a root", 0, None)
        .await
        .unwrap();
    let outcomes = race(engines.clone(), n.clone()).await;
    assert_eq!(total_computations(&engines), 1);
    assert_one_computation(&outcomes, &n);
    assert!(engines.iter().map(|e| e.stats().corrupt).sum::<u64>() >= 1);
}

#[test]
fn eight_processes_compute_once() {
    let addr = memcached_harness::shared_addr();
    let n = fresh_number(NUMBER_DIGITS);
    let dir = std::env::temp_dir().join(format!("sqrt-memo-test-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let number_file = dir.join("number.txt");
    std::fs::write(&number_file, n.to_string()).unwrap();
    // All workers sleep until the same instant, then ask at once.
    let start_at =
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_millis(1500);
    // Spawn all first (each sleeps until `start_at`), then collect.
    let children: Vec<_> = (0..CALLERS)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_sqrt-memo-worker"))
                .args(["--addr", &addr.to_string()])
                .args(["--number-file", number_file.to_str().unwrap()])
                .args(["--digits", &ROOT_DIGITS.to_string()])
                .args(["--start-at-unix-ms", &start_at.as_millis().to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let children: Vec<_> = children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    let lines: Vec<String> = children
        .iter()
        .map(|out| {
            assert!(
                out.status.success(),
                "worker failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout.clone())
                .unwrap()
                .trim()
                .to_owned()
        })
        .collect();
    let computed = lines
        .iter()
        .filter(|l| l.starts_with("computed=true "))
        .count();
    println!("{lines:#?}");
    assert_eq!(computed, 1, "{lines:#?}");
    let expected = sqrt_decimal(&n, ROOT_DIGITS).unwrap().to_string();
    let digest: String = Sha256::digest(expected.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for line in &lines {
        assert!(line.contains(&format!("root_sha256={digest} ")), "{line}");
    }
}
