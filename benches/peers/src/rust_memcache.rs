//! Peer: `memcache` (rust-memcache), a blocking client over an r2d2 pool.
//!
//! Given its best configuration: the text protocol like everyone else, and
//! the pool built by hand with `test_on_check_out(false)`, because its
//! default pool sends a `version` round trip on every checkout, which would
//! halve its throughput and make it a strawman.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use memcache::{Client, ConnectionManager, Url};

use crate::system::{expect_hit, timed, timed_threads, BenchError, System};
use crate::workload::{concurrent_is_set, concurrent_key, Data, Workload, CONCURRENCY, POOL_SIZE};

const NAME: &str = "peer: memcache 0.21 (blocking)";

pub struct RustMemcache {
    /// One connection, for the sequential workloads.
    single: Client,
    /// [`POOL_SIZE`] connections shared by [`CONCURRENCY`] threads.
    pooled: Client,
    data: Arc<Data>,
}

impl RustMemcache {
    pub fn new(addr: SocketAddr, data: Arc<Data>) -> Result<RustMemcache, BenchError> {
        Ok(RustMemcache {
            single: client(addr, 1)?,
            pooled: client(addr, POOL_SIZE as u32)?,
            data,
        })
    }
}

fn client(addr: SocketAddr, size: u32) -> Result<Client, BenchError> {
    let err = |e: &dyn std::fmt::Display| BenchError::system(NAME, e);
    let url = Url::parse(&format!("memcache://{addr}?protocol=ascii")).map_err(|e| err(&e))?;
    let pool = r2d2::Pool::builder()
        .max_size(size)
        .test_on_check_out(false)
        .build(ConnectionManager::new(url))
        .map_err(|e| err(&e))?;
    Client::with_pool(pool).map_err(|e| err(&e))
}

fn err(e: memcache::MemcacheError) -> BenchError {
    BenchError::system(NAME, e)
}

impl System for RustMemcache {
    fn name(&self) -> &str {
        NAME
    }

    fn run(&mut self, workload: Workload, ops: usize) -> Result<Duration, BenchError> {
        let (data, c) = (&*self.data, &self.single);
        let get = |c: &Client, key: &str| -> Result<(), BenchError> {
            expect_hit(NAME, c.get::<Vec<u8>>(key).map_err(err)?.is_some())
        };
        let elapsed = match workload {
            Workload::SeqGet => timed(ops, |_| get(c, &data.get_key))?,
            Workload::SeqSet => timed(ops, |i| {
                let key = &data.set_keys[i % data.set_keys.len()];
                c.set(key, data.small_value.as_slice(), 0).map_err(err)
            })?,
            Workload::GetMany => {
                let keys: Vec<&str> = data.many_keys.iter().map(String::as_str).collect();
                timed(ops, |_| {
                    let found = c.gets::<Vec<u8>>(&keys).map_err(err)?;
                    expect_hit(NAME, found.len() == keys.len())
                })?
            }
            Workload::Concurrent => {
                let pooled = &self.pooled;
                timed_threads(CONCURRENCY, |t| {
                    for i in (t..ops).step_by(CONCURRENCY) {
                        let key = concurrent_key(data, i);
                        if concurrent_is_set(i) {
                            pooled
                                .set(key, data.small_value.as_slice(), 0)
                                .map_err(err)?;
                        } else {
                            get(pooled, key)?;
                        }
                    }
                    Ok(())
                })?
            }
            Workload::LargeGet => timed(ops, |_| get(c, &data.large_key))?,
            Workload::LargeSet => timed(ops, |_| {
                c.set(&data.large_key, data.large_value.as_slice(), 0)
                    .map_err(err)
            })?,
        };
        Ok(elapsed)
    }
}
