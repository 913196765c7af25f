//! Connections over real loopback sockets: a request head that never
//! completes, and a keep-alive connection left idle, are closed after the
//! header timeout; beyond the connection cap a client is answered 503 and
//! closed at once. (The timeout is shortened here; the default is 10 s.)

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use trace_collector::{Collector, CollectorBuilder};

const HEADER_TIMEOUT: Duration = Duration::from_millis(400);
/// How long the test waits for a close before calling the connection stuck.
const PATIENCE: Duration = Duration::from_secs(5);

/// Reads until the peer closes; returns the bytes and how long that took,
/// or panics if the connection is still open after [`PATIENCE`].
fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (got, start.elapsed()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return (got, start.elapsed()),
            Err(e) => panic!(
                "connection still open after {:?} ({e}); got {} bytes starting {:?}",
                start.elapsed(),
                got.len(),
                String::from_utf8_lossy(&got[..got.len().min(200)])
            ),
        }
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).expect("connect")
}

/// Starts `builder` on a free port, runs `client` (blocking socket code)
/// against it, then shuts the collector down.
async fn against(builder: CollectorBuilder, client: impl FnOnce(SocketAddr) + Send + 'static) {
    let collector = builder.bind("127.0.0.1:0").await.unwrap();
    let addr = collector.addr();
    tokio::task::spawn_blocking(move || client(addr))
        .await
        .unwrap();
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_and_idle_keep_alive_are_cut_off() {
    let builder = Collector::builder().header_timeout(HEADER_TIMEOUT);
    against(builder, move |addr| {
        // Many connections that start a request head and never finish it.
        let mut stalled: Vec<TcpStream> = (0..50)
            .map(|_| {
                let mut s = connect(addr);
                s.write_all(b"POST /api/v2/spans HTTP/1.1\r\nHost: x\r\nContent-Ty")
                    .unwrap();
                s
            })
            .collect();
        for s in &mut stalled {
            let (_, waited) = read_until_closed(s);
            assert!(waited < PATIENCE);
        }
        // A connection that sends nothing at all.
        let (_, _) = read_until_closed(&mut connect(addr));

        // Keep-alive: one full request is answered, then the idle connection closes.
        let mut idle = connect(addr);
        idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let (reply, _) = read_until_closed(&mut idle);
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(reply.ends_with("ok"), "{reply}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_beyond_the_connection_cap_are_answered_503_at_once() {
    let builder = Collector::builder()
        .max_connections(2)
        .header_timeout(HEADER_TIMEOUT);
    against(builder, move |addr| {
        // Two idle connections take both slots...
        let holders: Vec<TcpStream> = (0..2).map(|_| connect(addr)).collect();
        std::thread::sleep(Duration::from_millis(100));
        // ...so a third is told to come back, and closed, without waiting.
        let (reply, waited) = read_until_closed(&mut connect(addr));
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 503"), "{reply:?}");
        assert!(reply.contains("Retry-After: 1"), "{reply}");
        assert!(waited < HEADER_TIMEOUT, "waited {waited:?}");
        // Once the header timeout frees the slots, clients are served.
        std::thread::sleep(HEADER_TIMEOUT * 2);
        let mut later = connect(addr);
        later
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (reply, _) = read_until_closed(&mut later);
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        drop(holders);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_is_cut_off() {
    let builder = Collector::builder().body_timeout(HEADER_TIMEOUT);
    against(builder, move |addr| {
        let mut slow = connect(addr);
        slow.write_all(
            b"POST /api/v2/spans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[",
        )
        .unwrap();
        let (reply, _) = read_until_closed(&mut slow);
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_its_answer_is_dropped() {
    let collector = Collector::builder()
        .write_timeout(HEADER_TIMEOUT)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let base = collector.base_url();
    let addr = collector.addr();
    tokio::task::spawn_blocking(move || {
        // About 24 MB of spans: more than the socket buffers hold.
        for n in 0..400u64 {
            let span = serde_json::json!([{
                "traceId": format!("{:032x}", n + 1), "id": "0000000000000001",
                "timestamp": common::micros_ago(5), "tags": {"payload": "z".repeat(60_000)}
            }]);
            assert_eq!(common::post_zipkin(&base, &span).status, 202);
        }
        let path = "/api/v2/traces?limit=1000";
        let full = common::get(&base, path).body.len();
        assert!(full > 20_000_000, "{full}");
        let mut idle = connect(addr);
        write!(idle, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        // Once the answer has started (building 24 MB of JSON takes a while
        // on a loaded machine, and the clock must not run before the
        // writes do)...
        let mut first = [0u8; 1];
        idle.read_exact(&mut first).unwrap();
        // ...read nothing for well past the write timeout...
        std::thread::sleep(HEADER_TIMEOUT * 4);
        // ...then only what was already in flight arrives before the close.
        let (got, _) = read_until_closed(&mut idle);
        assert!(
            got.len() + 1 < full,
            "read {} of {full} bytes",
            got.len() + 1
        );
    })
    .await
    .unwrap();
    collector.shutdown().await.unwrap();
}
