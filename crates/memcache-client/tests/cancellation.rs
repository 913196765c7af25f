//! A request that times out or whose future is dropped mid-flight leaves
//! its connection out of step with the server (the reply is still coming);
//! that connection must be discarded, never reused.
//!
//! To make "mid-flight" certain rather than a race, the server process is
//! paused (SIGSTOP) while the request is sent and resumed (SIGCONT) after
//! the caller gave up, so the late reply really arrives.

mod common;

use std::time::Duration;

use common::prefix;
use memcache_client::{Client, Error, StoreOptions};

const SMALL_KEYS: usize = 100;
const BIG_LEN: usize = 900 * 1024;

async fn setup(c: &Client, p: &str) -> String {
    let big = format!("{p}big");
    c.set(&big, vec![b'B'; BIG_LEN], StoreOptions::default())
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
async fn cancelled_and_timed_out_requests_never_poison_later_operations() {
    let server = common::start_server(&[]);
    let pid = server.pid().expect("memcached is running");
    let c = common::builder()
        .server_addr(server.addr())
        .operation_timeout(Duration::from_millis(200))
        // Timeouts must not mark the only server dead in this test.
        .dead_after_failures(u32::MAX)
        .build()
        .unwrap();
    let p = prefix("cancel");
    let big = setup(&c, &p).await;

    for round in 0..5 {
        // 1. The caller drops the future (a timeout around the call).
        check_ops(&c, &p, 1).await;
        // (A multiplexed connection stays open: the driver reads the late
        // reply and drops it. The checks after `resume` hold either way.)
        let pooled = !common::multiplexed();
        if pooled {
            assert_eq!(c.idle_connections(), vec![1]);
        }
        common::pause(pid);
        let cancelled = tokio::time::timeout(Duration::from_millis(20), c.get(&big)).await;
        assert!(
            cancelled.is_err(),
            "round {round}: get finished on a paused server"
        );
        // The in-flight connection was dropped, not returned to the pool.
        if pooled {
            assert_eq!(c.idle_connections(), vec![0], "round {round}");
        }
        common::resume(pid);
        check_ops(&c, &p, 20).await;

        // 2. The same with select! dropping the losing branch.
        common::pause(pid);
        tokio::select! {
            r = c.get(&big) => panic!(
                "round {round}: get finished on a paused server: {:?}",
                r.map(|item| item.map(|i| i.value.len()))
            ),
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
        common::resume(pid);
        check_ops(&c, &p, 20).await;

        // 3. The client's own operation timeout.
        common::pause(pid);
        let timed_out = c.get(&big).await;
        assert!(matches!(timed_out, Err(Error::Timeout)), "round {round}");
        common::resume(pid);
        check_ops(&c, &p, 20).await;
    }
    // The big value still reads back whole, then 1000 more operations.
    assert_eq!(c.get(&big).await.unwrap().unwrap().value.len(), BIG_LEN);
    check_ops(&c, &p, 1000).await;
}

/// Stress variant without pausing: a ~zero timeout around gets of a large
/// value cancels some of them at arbitrary points (before the write, while
/// reading); whatever happened, later operations see their own values.
#[tokio::test]
async fn racing_zero_timeouts_never_poison_later_operations() {
    let c = common::builder()
        .server_addr(common::shared_addr())
        .operation_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let p = prefix("racing");
    let big = setup(&c, &p).await;
    for _ in 0..50 {
        match tokio::time::timeout(Duration::from_nanos(1), c.get(&big)).await {
            Err(_elapsed) => {}
            Ok(r) => assert_eq!(r.unwrap().unwrap().value.len(), BIG_LEN),
        }
        check_ops(&c, &p, 20).await;
    }
    check_ops(&c, &p, 1000).await;
}

/// A connection keeps one timeout timer across exchanges, armed at an
/// earlier exchange's deadline and moved on when it fires early. An
/// exchange must still get its whole timeout, however close the timer left
/// by the previous one is to firing.
#[tokio::test]
async fn a_reused_connection_times_out_at_its_own_deadline() {
    let server = common::start_server(&[]);
    let pid = server.pid().expect("memcached is running");
    let timeout = Duration::from_millis(400);
    let c = common::builder()
        .server_addr(server.addr())
        .operation_timeout(timeout)
        .dead_after_failures(u32::MAX)
        .build()
        .unwrap();
    let key = format!("{}k", prefix("deadline"));
    for round in 0..3 {
        // Arms the connection's timer 400 ms ahead, then lets 250 ms pass:
        // the next exchange starts with that timer 150 ms from firing.
        c.set(&key, "v", StoreOptions::default()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
        common::pause(pid);
        let start = std::time::Instant::now();
        let result = c.get(&key).await;
        let waited = start.elapsed();
        common::resume(pid);
        assert!(
            matches!(result, Err(Error::Timeout)),
            "round {round}: {result:?}"
        );
        assert!(
            waited >= timeout,
            "round {round}: timed out early, after {waited:?}"
        );
        // Generous (a loaded machine), but far below "never".
        assert!(
            waited < timeout * 10,
            "round {round}: timed out late, after {waited:?}"
        );
        assert_eq!(c.get(&key).await.unwrap().unwrap().value, b"v".to_vec());
    }
}
