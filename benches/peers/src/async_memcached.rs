//! Peer: `async-memcached` (Shopify), a tokio client of one connection per
//! `Client` (`&mut self` methods, no pool of its own).
//!
//! For the concurrent workload it gets [`POOL_SIZE`] connections, each
//! behind a tokio mutex, and caller `t` always uses connection
//! `t % POOL_SIZE`: a static assignment, which is cheaper than any real
//! pool, so this is generous to the peer. It runs on the same kind of
//! runtime as ours (two workers, work spawned onto them).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_memcached::{AsciiProtocol, Client};
use tokio::runtime::Runtime;
use tokio::sync::Mutex;

use crate::system::{expect_hit, BenchError, System};
use crate::workload::{concurrent_is_set, concurrent_key, Data, Workload, CONCURRENCY, POOL_SIZE};

const NAME: &str = "peer: async-memcached 0.9";

pub struct AsyncMemcached {
    conns: Arc<Vec<Mutex<Client>>>,
    data: Arc<Data>,
    runtime: Runtime,
}

impl AsyncMemcached {
    pub fn new(addr: SocketAddr, data: Arc<Data>) -> Result<AsyncMemcached, BenchError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let conns = runtime.block_on(async {
            let mut conns = Vec::with_capacity(POOL_SIZE);
            for _ in 0..POOL_SIZE {
                let client = Client::new(format!("tcp://{addr}")).await.map_err(err)?;
                conns.push(Mutex::new(client));
            }
            Ok::<_, BenchError>(conns)
        })?;
        Ok(AsyncMemcached {
            conns: Arc::new(conns),
            data,
            runtime,
        })
    }
}

fn err(e: async_memcached::Error) -> BenchError {
    BenchError::system(NAME, e)
}

impl System for AsyncMemcached {
    fn name(&self) -> &str {
        NAME
    }

    fn run(&mut self, workload: Workload, ops: usize) -> Result<Duration, BenchError> {
        let task = self
            .runtime
            .spawn(run(self.conns.clone(), self.data.clone(), workload, ops));
        let elapsed = self
            .runtime
            .block_on(task)
            .map_err(|e| BenchError::system(NAME, e))??;
        Ok(elapsed)
    }
}

async fn run(
    conns: Arc<Vec<Mutex<Client>>>,
    data: Arc<Data>,
    workload: Workload,
    ops: usize,
) -> Result<Duration, BenchError> {
    let start = Instant::now();
    let first = conns
        .first()
        .ok_or_else(|| BenchError::system(NAME, "no connection"))?;
    match workload {
        Workload::SeqGet => {
            for _ in 0..ops {
                let found = first.lock().await.get(&data.get_key).await.map_err(err)?;
                expect_hit(NAME, found.is_some())?;
            }
        }
        Workload::SeqSet => {
            for i in 0..ops {
                let key = &data.set_keys[i % data.set_keys.len()];
                let value = data.small_value.as_slice();
                first
                    .lock()
                    .await
                    .set(key, value, None, None)
                    .await
                    .map_err(err)?;
            }
        }
        Workload::GetMany => {
            for _ in 0..ops {
                let found = first
                    .lock()
                    .await
                    .get_multi(&data.many_keys)
                    .await
                    .map_err(err)?;
                expect_hit(NAME, found.len() == data.many_keys.len())?;
            }
        }
        Workload::Concurrent => {
            let tasks: Vec<_> = (0..CONCURRENCY)
                .map(|t| {
                    let (conns, data) = (conns.clone(), data.clone());
                    tokio::spawn(async move {
                        let conn = &conns[t % conns.len()];
                        for i in (t..ops).step_by(CONCURRENCY) {
                            let key = concurrent_key(&data, i);
                            let mut client = conn.lock().await;
                            if concurrent_is_set(i) {
                                let value = data.small_value.as_slice();
                                client.set(key, value, None, None).await.map_err(err)?;
                            } else {
                                expect_hit(NAME, client.get(key).await.map_err(err)?.is_some())?;
                            }
                        }
                        Ok::<(), BenchError>(())
                    })
                })
                .collect();
            for task in tasks {
                task.await.map_err(|e| BenchError::system(NAME, e))??;
            }
        }
        Workload::LargeGet => {
            for _ in 0..ops {
                let found = first.lock().await.get(&data.large_key).await.map_err(err)?;
                expect_hit(NAME, found.is_some())?;
            }
        }
        Workload::LargeSet => {
            for _ in 0..ops {
                let value = data.large_value.as_slice();
                first
                    .lock()
                    .await
                    .set(&data.large_key, value, None, None)
                    .await
                    .map_err(err)?;
            }
        }
    }
    Ok(start.elapsed())
}
