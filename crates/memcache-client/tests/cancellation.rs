//! A request that times out or whose future is dropped mid-flight leaves
//! its connection out of step with the server; that connection must be
//! discarded, never reused.

mod common;

use std::time::Duration;

use common::prefix;
use memcache_client::{Client, Error, StoreOptions};

const SMALL_KEYS: usize = 100;

async fn setup(c: &Client, p: &str) -> String {
    let big = format!("{p}big");
    c.set(&big, vec![b'B'; 900 * 1024], StoreOptions::default())
        .await
        .unwrap();
    let items: Vec<(String, String)> = (0..SMALL_KEYS)
        .map(|i| (format!("{p}{i}"), format!("value-{i}")))
        .collect();
    c.set_many(&items, StoreOptions::default()).await.unwrap();
    big
}

/// Checks `count` operations, each reading back its own key's value.
async fn check_ops(c: &Client, p: &str, count: usize) {
    for n in 0..count {
        let i = n % SMALL_KEYS;
        let item = c.get(format!("{p}{i}")).await.unwrap().unwrap();
        assert_eq!(item.value, format!("value-{i}").into_bytes(), "op {n}");
    }
}

#[tokio::test]
async fn cancelled_get_does_not_poison_later_operations() {
    let c = Client::builder()
        .server_addr(memcached_harness::shared_addr())
        .operation_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let p = prefix("cancel");
    let big = setup(&c, &p).await;
    let mut cancelled = 0;
    for round in 0..50 {
        // Make sure an idle connection exists, so the first poll writes the
        // request and then waits for the reply.
        check_ops(&c, &p, 1).await;
        let idle_before = c.idle_connections()[0];
        match tokio::time::timeout(Duration::from_nanos(1), c.get(&big)).await {
            Err(_elapsed) => {
                cancelled += 1;
                // The in-flight connection was dropped, not returned.
                assert_eq!(c.idle_connections()[0], idle_before - 1, "round {round}");
            }
            Ok(r) => assert_eq!(r.unwrap().unwrap().value.len(), 900 * 1024),
        }
        check_ops(&c, &p, 20).await;
    }
    assert!(cancelled > 0, "no get was cancelled mid-flight");
    // The big value still reads back whole, then 1000 more operations.
    assert_eq!(c.get(&big).await.unwrap().unwrap().value.len(), 900 * 1024);
    check_ops(&c, &p, 1000).await;
}

#[tokio::test]
async fn select_dropping_a_get_does_not_poison_the_pool() {
    let c = Client::builder()
        .server_addr(memcached_harness::shared_addr())
        .build()
        .unwrap();
    let p = prefix("select");
    let big = setup(&c, &p).await;
    for _ in 0..20 {
        tokio::select! {
            biased;
            _ = c.get(&big) => {}
            _ = tokio::task::yield_now() => {}
        }
    }
    check_ops(&c, &p, 1000).await;
}

#[tokio::test]
async fn operation_timeout_discards_the_connection() {
    let p = prefix("optimeout");
    let setup_client = Client::builder()
        .server_addr(memcached_harness::shared_addr())
        .build()
        .unwrap();
    let big = setup(&setup_client, &p).await;
    let c = Client::builder()
        .server_addr(memcached_harness::shared_addr())
        .operation_timeout(Duration::from_nanos(1))
        // Timeouts must not mark the only server dead in this test.
        .dead_after_failures(u32::MAX)
        .build()
        .unwrap();
    let mut timed_out = 0;
    for _ in 0..50 {
        match c.get(&big).await {
            Err(Error::Timeout) => {
                timed_out += 1;
                assert_eq!(c.idle_connections(), vec![0]);
            }
            Ok(item) => assert_eq!(item.unwrap().value.len(), 900 * 1024),
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert!(timed_out > 0);
    check_ops(&setup_client, &p, 100).await;
}
