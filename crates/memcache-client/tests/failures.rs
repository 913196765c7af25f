//! Failure modes: requests refused before the wire, server-reported errors,
//! unreachable servers, pool exhaustion. Each test checks the client still
//! works afterwards.

mod common;

use std::time::Duration;

use common::{prefix, shared_client};
use memcache_client::{Client, Error, Limits, StoreOptions};

const INJECTION: &[u8] = b"a\r\nflush_all";

#[tokio::test]
async fn invalid_keys_never_reach_the_server() {
    // An own server: a flush would be visible and must not disturb others.
    let server = common::start_server(&[]);
    let c = common::client_for(&server);
    let o = StoreOptions::default();
    c.set("canary", "alive", o).await.unwrap();

    let too_long = vec![b'k'; 251];
    for key in [INJECTION, b"", &too_long[..], b"with space", b"nul\0"] {
        assert!(matches!(c.get(key).await, Err(Error::InvalidKey(_))));
        assert!(matches!(
            c.set(key, "v", o).await,
            Err(Error::InvalidKey(_))
        ));
        assert!(matches!(c.delete(key).await, Err(Error::InvalidKey(_))));
        assert!(matches!(c.incr(key, 1).await, Err(Error::InvalidKey(_))));
        assert!(matches!(
            c.touch(key, Default::default()).await,
            Err(Error::InvalidKey(_))
        ));
        let keys = [&b"fine"[..], key];
        assert!(matches!(c.get_many(&keys).await, Err(Error::InvalidKey(_))));
        assert!(matches!(
            c.delete_many(&keys).await,
            Err(Error::InvalidKey(_))
        ));
        let items = [(&b"fine"[..], &b"v"[..]), (key, &b"v"[..])];
        assert!(matches!(
            c.set_many(&items, o).await,
            Err(Error::InvalidKey(_))
        ));
        let flags = memcache_client::MetaGetFlags::default();
        assert!(matches!(
            c.meta_get(key, flags).await,
            Err(Error::InvalidKey(_))
        ));
    }
    // The canary survived, and the server saw no flush and none of the
    // refused stores.
    assert_eq!(&c.get("canary").await.unwrap().unwrap().value[..], b"alive");
    let stats = c.stats(None).await.unwrap();
    assert_eq!(stats[0].1["cmd_flush"], "0");
    assert_eq!(stats[0].1["cmd_set"], "1");
    assert!(c.get("fine").await.unwrap().is_none());
}

#[tokio::test]
async fn error_messages_do_not_contain_keys() {
    let c = shared_client();
    let err = c.get(b"secret key").await.unwrap_err();
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[tokio::test]
async fn value_over_the_client_limit_is_refused_before_the_wire() {
    let c = shared_client();
    let k = format!("{}k", prefix("toolarge"));
    let big = vec![0u8; Limits::default().max_value_len + 1];
    let err = c.set(&k, &big, StoreOptions::default()).await.unwrap_err();
    assert!(matches!(err, Error::ValueTooLarge { .. }), "{err}");
    assert_eq!(err.kind(), "value_too_large");
    assert!(c.get(&k).await.unwrap().is_none());
}

#[tokio::test]
async fn server_error_is_surfaced_and_client_recovers() {
    // The server takes items up to 1 MiB, the client allows 4 MiB: the
    // server answers SERVER_ERROR object too large.
    let server = common::start_server(&["-I", "1m"]);
    let limits = Limits {
        max_value_len: 4 << 20,
        ..Limits::default()
    };
    let c = common::builder()
        .server_addr(server.addr())
        .limits(limits)
        .build()
        .unwrap();
    let err = c
        .set("big", vec![1u8; 2 << 20], StoreOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server(_)), "{err}");
    assert_eq!(err.kind(), "server_error");
    for i in 0..20 {
        c.set(format!("k{i}"), format!("v{i}"), StoreOptions::default())
            .await
            .unwrap();
        assert_eq!(
            c.get(format!("k{i}")).await.unwrap().unwrap().value,
            format!("v{i}").into_bytes()
        );
    }
}

#[tokio::test]
async fn unreachable_server_is_an_io_error() {
    // A port that was just free: nothing listens there.
    let addr = common::dead_addr();
    let c = common::builder().server_addr(addr).build().unwrap();
    let err = c.get("k").await.unwrap_err();
    assert_eq!(err.kind(), "io", "{err}");
}

#[tokio::test]
async fn pool_exhaustion_times_out_with_a_typed_error() {
    // The pool is the exclusive mode's (multiplexed callers never wait).
    let c = Client::builder()
        .server_addr(common::shared_addr())
        .max_connections_per_server(1)
        .pool_wait_timeout(Duration::ZERO)
        .build()
        .unwrap();
    let p = prefix("pool");
    c.set(
        format!("{p}k"),
        vec![7u8; 512 * 1024],
        StoreOptions::default(),
    )
    .await
    .unwrap();
    // On this single-threaded runtime the first get holds the only
    // connection while it waits for the server; the second finds none free.
    let k = format!("{p}k");
    let (a, b) = tokio::join!(c.get(&k), c.get(&k));
    assert!(a.unwrap().is_some());
    assert!(
        matches!(b, Err(Error::PoolTimeout)),
        "second get: {:?}",
        b.map(|item| item.map(|i| i.value.len()))
    );
    assert!(c.get(&k).await.unwrap().is_some());
}

#[tokio::test]
async fn config_errors_are_typed() {
    assert!(matches!(common::builder().build(), Err(Error::Config(_))));
    assert!(matches!(
        common::builder().server("host:notaport").build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        common::builder()
            .server("h:1")
            .max_connections_per_server(0)
            .build(),
        Err(Error::Config(_))
    ));
}

#[tokio::test]
async fn connect_timeout_is_typed_and_the_server_is_marked_dead() {
    // A paused memcached with a listen backlog of one: once its accept
    // queue is full, further connection attempts get no answer at all.
    let server = common::start_server(&["-b", "1"]);
    let pid = server.pid().expect("memcached is running");
    common::pause(pid);
    let mut fillers = Vec::new();
    for _ in 0..8 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(server.addr()),
        )
        .await
        {
            fillers.push(s);
        }
    }
    let c = common::builder()
        .server_addr(server.addr())
        .connect_timeout(Duration::from_millis(100))
        .dead_after_failures(2)
        .build()
        .unwrap();
    let first = c.get("k").await.unwrap_err();
    assert!(matches!(first, Error::ConnectTimeout), "{first}");
    assert_eq!(first.kind(), "connect_timeout");
    let _ = c.get("k").await;
    // Two failures: marked dead, fails fast now.
    assert!(matches!(c.get("k").await, Err(Error::ServerMarkedDead)));
    common::resume(pid);
    drop(fillers);
}
