//! Shared test helpers: clients for the shared server and unique key
//! prefixes (tests run in parallel against one memcached).

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use memcache_client::Client;

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
        .server_addr(memcached_harness::shared_addr())
        .operation_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}
