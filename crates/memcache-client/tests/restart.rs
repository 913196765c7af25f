//! The client recovers by itself when its server is killed and restarted:
//! stale pooled connections are dropped, the request that met one is
//! retried on a fresh connection, and calls fail cleanly while the server
//! is down.

mod common;

use std::time::Duration;

use memcache_client::{Client, StoreOptions};
use memcached_harness::Memcached;

fn client_for(server: &Memcached) -> Client {
    common::builder()
        .server_addr(server.addr())
        .operation_timeout(Duration::from_secs(2))
        .dead_after_failures(1000)
        .build()
        .unwrap()
}

#[tokio::test]
async fn restart_between_calls_is_invisible() {
    let mut server = common::start_server(&[]);
    let c = client_for(&server);
    // Several idle connections, all of which the restart will break.
    let (a, b, d) = tokio::join!(
        c.set("a", "1", StoreOptions::default()),
        c.set("b", "2", StoreOptions::default()),
        c.set("d", "3", StoreOptions::default())
    );
    a.unwrap();
    b.unwrap();
    d.unwrap();
    assert!(c.idle_connections()[0] >= 1);
    server.restart().unwrap();
    // The server lost its data, but the very next call works.
    assert_eq!(c.get("a").await.unwrap(), None);
    c.set("a", "again", StoreOptions::default()).await.unwrap();
    assert_eq!(&c.get("a").await.unwrap().unwrap().value[..], b"again");
}

#[tokio::test]
async fn calls_fail_while_down_and_recover_after_restart() {
    let mut server = common::start_server(&[]);
    let c = client_for(&server);
    c.set("k", "v", StoreOptions::default()).await.unwrap();
    server.kill();
    for _ in 0..3 {
        let err = c.get("k").await.unwrap_err();
        assert!(
            matches!(err.kind(), "io" | "connection_closed" | "connect_timeout"),
            "{err}"
        );
    }
    server.restart().unwrap();
    // Bounded: the first call after the restart is expected to work, allow a
    // few in case the listener is not accepting yet.
    let mut recovered = false;
    for _ in 0..50 {
        if c.set("k", "v2", StoreOptions::default()).await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(recovered, "client did not recover after the restart");
    assert_eq!(&c.get("k").await.unwrap().unwrap().value[..], b"v2");
    for i in 0..100 {
        c.set(format!("k{i}"), format!("{i}"), StoreOptions::default())
            .await
            .unwrap();
        assert_eq!(
            c.get(format!("k{i}")).await.unwrap().unwrap().value,
            format!("{i}").into_bytes()
        );
    }
}
