//! Shared test helpers: clients for the shared server and unique key
//! prefixes (tests run in parallel against one memcached).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use memcache_client::Client;
use memcached_harness::Memcached;

/// Serializes server starts within this test process. The harness picks a
/// free port and then starts memcached on it; two starts racing in parallel
/// tests can pick the same port, and both handles then point at one process.
static STARTING: Mutex<()> = Mutex::new(());

fn starting() -> MutexGuard<'static, ()> {
    STARTING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An own memcached (see [`STARTING`]).
pub fn start_server(args: &[&str]) -> Memcached {
    let _guard = starting();
    Memcached::start_with_args(args).unwrap()
}

/// Restarts an own memcached on its port (see [`STARTING`]).
pub fn restart_server(server: &mut Memcached) {
    let _guard = starting();
    server.restart().unwrap();
}

/// The shared memcached, started on first use (see [`STARTING`]).
pub fn shared_addr() -> SocketAddr {
    let _guard = starting();
    memcached_harness::shared_addr()
}

/// A prefix no other test (or test run) uses.
pub fn prefix(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("mcc:{test}:{}:{nanos}:{n}:", std::process::id())
}

/// A client for the shared memcached.
pub fn shared_client() -> Client {
    Client::builder()
        .server_addr(shared_addr())
        .operation_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}
