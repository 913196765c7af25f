//! A scriptable misbehaving server for the hostile-input tests: each
//! accepted connection gets the next [`Behavior`] of a script (the last one
//! repeats). Honest behaviour is [`Behavior::Proxy`], which forwards the
//! connection to a real memcached, so "the next call is correct" is checked
//! against the real thing. Every byte the client sends is recorded, which
//! proves what did (or did not) reach the wire.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does on one connection.
#[derive(Clone, Debug)]
pub enum Behavior {
    /// Waits for the first request bytes, writes this reply in one write,
    /// then keeps reading (and recording) until the client closes.
    Reply(Vec<u8>),
    /// Waits for the first request bytes, writes this, then closes.
    ReplyThenClose(Vec<u8>),
    /// Reads and records forever; never answers.
    Silent,
    /// Waits for the first request bytes, then writes the reply one byte
    /// every `delay`.
    Trickle(Vec<u8>, Duration),
    /// Waits for the first request bytes, then writes `chunk` again and
    /// again until the client goes away or `total` bytes were written.
    Flood { chunk: Vec<u8>, total: usize },
    /// Forwards the connection to a real memcached both ways.
    Proxy(SocketAddr),
    /// Waits for the first request bytes, writes `reply`, then after
    /// `after` writes `late` unasked on the idle connection, then keeps
    /// reading until the client closes.
    ReplyThenLate {
        reply: Vec<u8>,
        late: Vec<u8>,
        after: Duration,
    },
}

/// What the server observed; shared with its tasks.
#[derive(Default)]
pub struct Observed {
    /// Every byte received, all connections concatenated.
    pub received: Mutex<Vec<u8>>,
    /// Connections accepted.
    pub accepted: AtomicUsize,
    /// Connections the client closed (EOF or reset seen by the server).
    pub closed_by_client: AtomicUsize,
    /// Bytes written by `Flood` before the client went away.
    pub flooded: AtomicUsize,
}

pub struct FakeServer {
    pub addr: SocketAddr,
    pub observed: Arc<Observed>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    /// Starts on 127.0.0.1 with an ephemeral port.
    pub async fn start(script: Vec<Behavior>) -> FakeServer {
        assert!(!script.is_empty());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let observed = Arc::new(Observed::default());
        let obs = observed.clone();
        let task = tokio::spawn(async move {
            let mut n = 0usize;
            while let Ok((socket, _)) = listener.accept().await {
                obs.accepted.fetch_add(1, Ordering::SeqCst);
                let behavior = script[n.min(script.len() - 1)].clone();
                n += 1;
                tokio::spawn(serve(socket, behavior, obs.clone()));
            }
        });
        FakeServer {
            addr,
            observed,
            task,
        }
    }

    pub fn received(&self) -> Vec<u8> {
        self.observed.received.lock().unwrap().clone()
    }

    pub fn accepted(&self) -> usize {
        self.observed.accepted.load(Ordering::SeqCst)
    }

    pub fn closed_by_client(&self) -> usize {
        self.observed.closed_by_client.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until the client closed `n` connections.
    pub async fn wait_closed(&self, n: usize) -> bool {
        for _ in 0..500 {
            if self.closed_by_client() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }
}

/// Reads once, recording; `false` on EOF or error (client gone).
async fn read_some(socket: &mut TcpStream, obs: &Observed) -> bool {
    let mut buf = [0u8; 4096];
    match socket.read(&mut buf).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            obs.received.lock().unwrap().extend_from_slice(&buf[..n]);
            true
        }
    }
}

async fn drain_until_closed(socket: &mut TcpStream, obs: &Observed) {
    while read_some(socket, obs).await {}
    obs.closed_by_client.fetch_add(1, Ordering::SeqCst);
}

async fn serve(mut socket: TcpStream, behavior: Behavior, obs: Arc<Observed>) {
    let _ = socket.set_nodelay(true);
    match behavior {
        Behavior::Proxy(target) => {
            let Ok(mut upstream) = TcpStream::connect(target).await else {
                return;
            };
            let (mut cr, mut cw) = socket.split();
            let (mut ur, mut uw) = upstream.split();
            let up = async {
                let mut buf = [0u8; 16 * 1024];
                loop {
                    match cr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            obs.received.lock().unwrap().extend_from_slice(&buf[..n]);
                            if uw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                obs.closed_by_client.fetch_add(1, Ordering::SeqCst);
                let _ = uw.shutdown().await;
            };
            let down = async {
                let _ = tokio::io::copy(&mut ur, &mut cw).await;
            };
            tokio::join!(up, down);
        }
        Behavior::Silent => drain_until_closed(&mut socket, &obs).await,
        Behavior::Reply(reply) => {
            if !read_some(&mut socket, &obs).await {
                obs.closed_by_client.fetch_add(1, Ordering::SeqCst);
                return;
            }
            let _ = socket.write_all(&reply).await;
            drain_until_closed(&mut socket, &obs).await;
        }
        Behavior::ReplyThenLate { reply, late, after } => {
            if !read_some(&mut socket, &obs).await {
                obs.closed_by_client.fetch_add(1, Ordering::SeqCst);
                return;
            }
            let _ = socket.write_all(&reply).await;
            tokio::time::sleep(after).await;
            let _ = socket.write_all(&late).await;
            drain_until_closed(&mut socket, &obs).await;
        }
        Behavior::ReplyThenClose(reply) => {
            if read_some(&mut socket, &obs).await {
                let _ = socket.write_all(&reply).await;
            }
        }
        Behavior::Trickle(reply, delay) => {
            if !read_some(&mut socket, &obs).await {
                return;
            }
            for byte in reply {
                if socket.write_all(&[byte]).await.is_err() {
                    obs.closed_by_client.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                tokio::time::sleep(delay).await;
            }
            drain_until_closed(&mut socket, &obs).await;
        }
        Behavior::Flood { chunk, total } => {
            if !read_some(&mut socket, &obs).await {
                return;
            }
            let mut written = 0;
            while written < total {
                if socket.write_all(&chunk).await.is_err() {
                    obs.closed_by_client.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                written += chunk.len();
                obs.flooded.store(written, Ordering::SeqCst);
            }
        }
    }
}
