//! What multiplexed connections promise beyond the suite's other tests
//! (which `cargo xtask test` also runs on multiplexed connections): many
//! callers share a connection without ever getting each other's replies, a
//! cancelled call leaves its connection usable, a failure ends the
//! connection for the calls queued behind it, each with a typed error, and
//! nothing is sent twice unless it is certain the server never read it.

mod common;
mod fake;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::prefix;
use fake::{Behavior, FakeServer};
use memcache_client::{Client, ConnectionMode, Error, Limits, StoreOptions, StoreOutcome};
use memcached_harness::Memcached;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn multiplexed(server: &Memcached, connections: usize, timeout: Duration) -> Client {
    Client::builder()
        .server_addr(server.addr())
        .connection_mode(ConnectionMode::Multiplexed)
        .max_connections_per_server(connections)
        .operation_timeout(timeout)
        .dead_after_failures(u32::MAX)
        .build()
        .unwrap()
}

/// The server's `total_connections` stat: connections ever accepted.
async fn total_connections(c: &Client) -> u64 {
    let stats = c.stats(None).await.unwrap();
    stats[0].1["total_connections"].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_callers_share_connections_and_each_gets_its_own_reply() {
    let server = common::start_server(&[]);
    let c = multiplexed(&server, 2, Duration::from_secs(5));
    let p = prefix("mux-share");
    let before = total_connections(&c).await;
    let tasks: Vec<_> = (0..200)
        .map(|t| {
            let (c, p) = (c.clone(), p.clone());
            tokio::spawn(async move {
                for round in 0..20 {
                    let key = format!("{p}{t}");
                    let value = format!("task {t} round {round}");
                    c.set(&key, &value, StoreOptions::default()).await.unwrap();
                    let item = c.get(&key).await.unwrap().unwrap();
                    assert_eq!(item.value, value.as_bytes(), "task {t} round {round}");
                    let many = c.get_many(&[&key, &format!("{p}absent")]).await.unwrap();
                    assert_eq!(many.len(), 1);
                    assert_eq!(many[key.as_bytes()].value, value.as_bytes());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    // 200 callers, 12,000 calls: at most the two connections (opened
    // after `before`'s stats call, which used the first).
    let opened = total_connections(&c).await - before;
    assert!(opened <= 2, "{opened} connections opened");
}

#[tokio::test]
async fn a_cancelled_call_leaves_its_connection_in_step_and_open() {
    let server = common::start_server(&[]);
    let pid = server.pid().unwrap();
    let c = multiplexed(&server, 1, Duration::from_secs(5));
    let p = prefix("mux-cancel");
    let big = format!("{p}big");
    c.set(&big, vec![b'B'; 900 * 1024], StoreOptions::default())
        .await
        .unwrap();
    c.set(format!("{p}small"), "small", StoreOptions::default())
        .await
        .unwrap();
    let before = total_connections(&c).await;
    for round in 0..5 {
        common::pause(pid);
        let cancelled = tokio::time::timeout(Duration::from_millis(20), c.get(&big)).await;
        assert!(cancelled.is_err(), "round {round}: finished while paused");
        common::resume(pid);
        // The late 900 KiB reply is read and dropped by the driver; the
        // next reply on the same connection is this call's own.
        let item = c.get(format!("{p}small")).await.unwrap().unwrap();
        assert_eq!(&item.value[..], b"small", "round {round}");
    }
    assert_eq!(
        total_connections(&c).await,
        before,
        "a connection was replaced"
    );
}

#[tokio::test]
async fn a_timeout_ends_the_connection_for_every_call_queued_on_it() {
    let server = common::start_server(&[]);
    let pid = server.pid().unwrap();
    let c = Client::builder()
        .server_addr(server.addr())
        .connection_mode(ConnectionMode::Multiplexed)
        .max_connections_per_server(1)
        .operation_timeout(Duration::from_millis(300))
        .dead_after_failures(2)
        .build()
        .unwrap();
    let p = prefix("mux-timeout");
    let (a, b) = (format!("{p}a"), format!("{p}b"));
    c.set(&a, "a", StoreOptions::default()).await.unwrap();
    let before = total_connections(&c).await;
    common::pause(pid);
    let (ra, rb, rc) = tokio::join!(
        c.get(&a),
        c.set(&b, "b", StoreOptions::default()),
        c.get(&b)
    );
    common::resume(pid);
    assert!(matches!(ra, Err(Error::Timeout)), "{ra:?}");
    assert!(matches!(rb, Err(Error::Timeout)), "{rb:?}");
    assert!(matches!(rc, Err(Error::Timeout)), "{rc:?}");
    // One timeout, counted once: two failures would have marked the
    // server dead. A new connection; the old one's late replies never
    // reach anyone.
    assert_eq!(&c.get(&a).await.unwrap().unwrap().value[..], b"a");
    assert_eq!(total_connections(&c).await, before + 1);
}

#[tokio::test]
async fn a_server_error_answers_its_call_alone_and_the_connection_stays() {
    // The server's item limit (1 MiB) is below the client's, so the big
    // set reaches the server and comes back as SERVER_ERROR; memcached
    // swallows the value, so the calls around it are answered in step.
    let server = common::start_server(&[]);
    let c = Client::builder()
        .server_addr(server.addr())
        .connection_mode(ConnectionMode::Multiplexed)
        .max_connections_per_server(1)
        .limits(Limits {
            max_value_len: 4 * 1024 * 1024,
            ..Limits::default()
        })
        .build()
        .unwrap();
    let p = prefix("mux-server-error");
    let (a, big, b) = (format!("{p}a"), format!("{p}big"), format!("{p}b"));
    c.set(&a, "a", StoreOptions::default()).await.unwrap();
    let before = total_connections(&c).await;
    // All three are queued before the driver runs (one thread), in order.
    let (ra, rbig, rb) = tokio::join!(
        c.get(&a),
        c.set(&big, vec![0u8; 2 * 1024 * 1024], StoreOptions::default()),
        c.set(&b, "b", StoreOptions::default())
    );
    assert_eq!(&ra.unwrap().unwrap().value[..], b"a");
    assert!(matches!(rbig, Err(Error::Server(_))), "{rbig:?}");
    assert!(matches!(rb, Ok(StoreOutcome::Stored)), "{rb:?}");
    assert_eq!(&c.get(&b).await.unwrap().unwrap().value[..], b"b");
    assert_eq!(
        total_connections(&c).await,
        before,
        "the connection was replaced"
    );
}

#[tokio::test]
async fn a_value_the_fast_path_declines_keeps_its_place() {
    // A 20-digit CAS token is valid but not a "plain" VALUE line: the
    // driver decodes it on the codec's general path. It must still be
    // checked in key order with the others.
    let reply = b"VALUE a 0 1 12345678901234567890\r\nx\r\nVALUE b 0 1 5\r\ny\r\nEND\r\n".to_vec();
    let fake = FakeServer::start(vec![Behavior::Reply(reply)]).await;
    let c = Client::builder()
        .server_addr(fake.addr)
        .connection_mode(ConnectionMode::Multiplexed)
        .build()
        .unwrap();
    let found = c.gets_many(&["a", "b"]).await.unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found[&b"a"[..]].cas, Some(12_345_678_901_234_567_890));
}

/// A server that counts `incr` lines; on its first connection it answers
/// one `get` (`END`), then, at an `incr`, hangs up without answering the
/// `get`s after it: the `incr` was carried out, the connection is gone.
async fn crashing_incr_counter() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incrs = Arc::new(AtomicUsize::new(0));
    let counter = incrs.clone();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            let crash = std::mem::replace(&mut first, false);
            tokio::spawn(async move {
                let (mut buf, mut gets, mut chunk) = (Vec::new(), 0, [0u8; 4096]);
                loop {
                    while let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") {
                        let line: Vec<u8> = buf.drain(..eol + 2).collect();
                        if line.starts_with(b"incr ") {
                            counter.fetch_add(1, Ordering::SeqCst);
                            if crash {
                                return;
                            }
                        } else if line.starts_with(b"get ") {
                            gets += 1;
                            if !(crash && gets > 1) {
                                socket.write_all(b"END\r\n").await.unwrap();
                            }
                        }
                    }
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    (addr, incrs)
}

#[tokio::test]
async fn a_written_noreply_request_is_never_sent_twice() {
    let (addr, incrs) = crashing_incr_counter().await;
    let c = Client::builder()
        .server_addr(addr)
        .connection_mode(ConnectionMode::Multiplexed)
        .max_connections_per_server(1)
        .dead_after_failures(u32::MAX)
        .build()
        .unwrap();
    c.get("a").await.unwrap();
    // One batch: the get is retried on a new connection (nothing came back
    // after it was written), the written noreply incr is not.
    let (get, incr) = tokio::join!(c.get("b"), c.incr_noreply("n", 1));
    assert!(matches!(get, Ok(None)), "{get:?}");
    assert!(incr.is_ok(), "{incr:?}");
    assert_eq!(incrs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn callers_queued_on_a_connect_share_its_timeout() {
    // A listener with a full accept queue: further connects get no answer
    // (Linux drops their SYNs), so they end at the connect timeout.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let connect = tokio::net::TcpStream::connect(addr);
        match tokio::time::timeout(Duration::from_millis(300), connect).await {
            Ok(stream) => fillers.push(stream.unwrap()),
            Err(_) => break,
        }
    }
    let c = Client::builder()
        .server_addr(addr)
        .connection_mode(ConnectionMode::Multiplexed)
        .max_connections_per_server(1)
        .connect_timeout(Duration::from_millis(250))
        .dead_after_failures(u32::MAX)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let calls = (0..16).map(|i| {
        let c = c.clone();
        async move { c.get(format!("k{i}")).await }
    });
    let results = futures_util::future::join_all(calls).await;
    for r in &results {
        assert!(matches!(r, Err(Error::ConnectTimeout)), "{r:?}");
    }
    // One attempt's timeout answered all 16 callers; trying again in turn
    // would take 16 x 250 ms.
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(2000), "{elapsed:?}");
    drop(fillers);
}
