//! The async floor: the blocking floor's loops on tokio instead, with
//! nothing else (no parsing beyond finding the reply's end, no timeouts, no
//! pool, no tracing). It shows what any tokio client pays for waiting in
//! `epoll_wait` and reading afterwards where a blocking client just blocks
//! in `recv`: no tokio client can beat it. Runs on the same kind of runtime
//! as our client and async-memcached (two workers, work spawned onto them).

use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::sync::Mutex;

use crate::floor::{
    closed, expect_stored, find_crlf, get_request, grow_if_full, set_header, RetrievalScan,
};
use crate::system::{expect_hit, BenchError, System};
use crate::workload::{concurrent_is_set, concurrent_key, Data, Workload, CONCURRENCY, POOL_SIZE};

/// One tokio connection speaking the text protocol, as `RawConn` does.
struct AsyncRawConn {
    stream: TcpStream,
    request: Vec<u8>,
    buf: Vec<u8>,
}

impl AsyncRawConn {
    async fn connect(addr: SocketAddr) -> Result<AsyncRawConn, BenchError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(AsyncRawConn {
            stream,
            request: Vec::with_capacity(4096),
            buf: vec![0; 16 * 1024],
        })
    }

    async fn get(&mut self, keys: &[&str]) -> Result<usize, BenchError> {
        get_request(&mut self.request, keys);
        self.stream.write_all(&self.request).await?;
        let (mut scan, mut filled) = (RetrievalScan::default(), 0);
        loop {
            if let Some(values) = scan.advance(&self.buf[..filled])? {
                return Ok(values);
            }
            filled += self.fill(filled).await?;
        }
    }

    async fn set(&mut self, key: &str, value: &[u8]) -> Result<(), BenchError> {
        set_header(&mut self.request, key, value.len());
        let mut slices = [
            IoSlice::new(&self.request),
            IoSlice::new(value),
            IoSlice::new(b"\r\n"),
        ];
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            let n = self.stream.write_vectored(slices).await?;
            if n == 0 {
                return Err(BenchError::Protocol("write returned 0".into()));
            }
            IoSlice::advance_slices(&mut slices, n);
        }
        let mut filled = 0;
        loop {
            if let Some(eol) = find_crlf(&self.buf[..filled]) {
                return expect_stored(&self.buf[..eol]);
            }
            filled += self.fill(filled).await?;
        }
    }

    async fn fill(&mut self, filled: usize) -> Result<usize, BenchError> {
        grow_if_full(&mut self.buf, filled);
        match self.stream.read(&mut self.buf[filled..]).await? {
            0 => Err(closed()),
            n => Ok(n),
        }
    }
}

/// The async floor as a [`System`]. For the concurrent workload it has
/// [`POOL_SIZE`] connections, caller `t` always using connection
/// `t % POOL_SIZE` behind a tokio mutex (as the async-memcached system).
pub struct AsyncFloor {
    conns: Arc<Vec<Mutex<AsyncRawConn>>>,
    data: Arc<Data>,
    runtime: Runtime,
}

impl AsyncFloor {
    pub const NAME: &'static str = "async floor: raw tokio TcpStream";

    pub fn new(addr: SocketAddr, data: Arc<Data>) -> Result<AsyncFloor, BenchError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let conns = runtime.block_on(async {
            let mut conns = Vec::with_capacity(POOL_SIZE);
            for _ in 0..POOL_SIZE {
                conns.push(Mutex::new(AsyncRawConn::connect(addr).await?));
            }
            Ok::<_, BenchError>(conns)
        })?;
        Ok(AsyncFloor {
            conns: Arc::new(conns),
            data,
            runtime,
        })
    }
}

impl System for AsyncFloor {
    fn name(&self) -> &str {
        AsyncFloor::NAME
    }

    fn run(&mut self, workload: Workload, ops: usize) -> Result<Duration, BenchError> {
        let task = self
            .runtime
            .spawn(run(self.conns.clone(), self.data.clone(), workload, ops));
        self.runtime
            .block_on(task)
            .map_err(|e| BenchError::system(AsyncFloor::NAME, e))?
    }
}

async fn run(
    conns: Arc<Vec<Mutex<AsyncRawConn>>>,
    data: Arc<Data>,
    workload: Workload,
    ops: usize,
) -> Result<Duration, BenchError> {
    let start = Instant::now();
    let first = conns
        .first()
        .ok_or_else(|| BenchError::system(AsyncFloor::NAME, "no connection"))?;
    let mut conn = first.lock().await;
    match workload {
        Workload::SeqGet => {
            for _ in 0..ops {
                expect_hit(AsyncFloor::NAME, conn.get(&[&data.get_key]).await? == 1)?;
            }
        }
        Workload::SeqSet => {
            for i in 0..ops {
                let key = &data.set_keys[i % data.set_keys.len()];
                conn.set(key, &data.small_value).await?;
            }
        }
        Workload::GetMany => {
            let keys: Vec<&str> = data.many_keys.iter().map(String::as_str).collect();
            for _ in 0..ops {
                expect_hit(AsyncFloor::NAME, conn.get(&keys).await? == keys.len())?;
            }
        }
        Workload::Concurrent => {
            drop(conn);
            let tasks: Vec<_> = (0..CONCURRENCY)
                .map(|t| {
                    let (conns, data) = (conns.clone(), data.clone());
                    tokio::spawn(async move {
                        let conn = &conns[t % conns.len()];
                        for i in (t..ops).step_by(CONCURRENCY) {
                            let key = concurrent_key(&data, i);
                            let mut conn = conn.lock().await;
                            if concurrent_is_set(i) {
                                conn.set(key, &data.small_value).await?;
                            } else {
                                expect_hit(AsyncFloor::NAME, conn.get(&[key]).await? == 1)?;
                            }
                        }
                        Ok::<(), BenchError>(())
                    })
                })
                .collect();
            for task in tasks {
                task.await
                    .map_err(|e| BenchError::system(AsyncFloor::NAME, e))??;
            }
        }
        Workload::LargeGet => {
            for _ in 0..ops {
                expect_hit(AsyncFloor::NAME, conn.get(&[&data.large_key]).await? == 1)?;
            }
        }
        Workload::LargeSet => {
            for _ in 0..ops {
                conn.set(&data.large_key, &data.large_value).await?;
            }
        }
    }
    Ok(start.elapsed())
}
