//! Shared helpers of the integration tests: fresh numbers (so tests sharing a
//! memcached never touch each other's keys) and engines over a real server.

#![allow(dead_code)]

use std::net::SocketAddr;

use rug::Integer;
use sqrt_memo::{DirectStore, MemoConfig, SqrtMemo};

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

pub fn engine_at(addr: SocketAddr, config: MemoConfig) -> SqrtMemo<DirectStore> {
    SqrtMemo::new(DirectStore::new(addr), config)
}

/// An engine on the memcached shared by this test process.
pub fn engine(config: MemoConfig) -> SqrtMemo<DirectStore> {
    engine_at(memcached_harness::shared_addr(), config)
}
