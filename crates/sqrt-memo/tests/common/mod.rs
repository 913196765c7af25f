//! Shared helpers of the integration tests: fresh numbers (so tests sharing a
//! memcached never touch each other's keys) and engines over a real server.

#![allow(dead_code)]

use std::net::SocketAddr;

use memcache_client::Client;
use rug::Integer;
use sqrt_memo::{MemoConfig, MemoSecret, MemoStore, SqrtMemo};

/// A random number with exactly `decimal_digits` digits (>= 2); random so
/// each test run and each test has keys of its own.
pub fn fresh_number(decimal_digits: usize) -> Integer {
    let mut text = String::with_capacity(decimal_digits);
    text.push(char::from(b'1' + (rand::random::<u8>() % 9)));
    while text.len() < decimal_digits {
        text.push(char::from(b'0' + (rand::random::<u8>() % 10)));
    }
    Integer::from_str_radix(&text, 10).unwrap()
}

/// Test configuration: hits verified against the number.
pub fn test_config() -> MemoConfig {
    MemoConfig {
        verify_hits: true,
        ..MemoConfig::default()
    }
}

/// A secret and `verify_hits` off: hits tagged under the secret are
/// authenticated and skip the arithmetic check.
pub fn secret_config() -> MemoConfig {
    MemoConfig {
        secret: Some(MemoSecret::new("shared test secret 0123456789")),
        verify_hits: false,
        ..MemoConfig::default()
    }
}

pub fn engine_at(addr: SocketAddr, config: MemoConfig) -> SqrtMemo<Client> {
    SqrtMemo::new(Client::connect(&addr.to_string()).expect("client"), config)
}

/// An engine on the memcached shared by this test process.
pub fn engine(config: MemoConfig) -> SqrtMemo<Client> {
    engine_at(memcached_harness::shared_addr(), config)
}

/// The engine's store seen only through [`MemoStore`]: `Client` has inherent
/// meta methods of the same names, which would otherwise win.
pub fn memo_store<S: MemoStore>(memo: &SqrtMemo<S>) -> &impl MemoStore {
    memo.store()
}
