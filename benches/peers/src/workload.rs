//! The workloads, their sizes and the data they touch.
//!
//! Every system runs the same workload against the same warm keys, so the
//! only thing that differs between systems is the client code.

use std::fmt;

/// Value size of the small-value workloads.
pub const SMALL_VALUE_LEN: usize = 32;
/// Value size of the large-value workloads (100 KiB).
pub const LARGE_VALUE_LEN: usize = 100 * 1024;
/// Keys per `get_many` call.
pub const MANY_KEYS: usize = 100;
/// Concurrent callers in the concurrent workload.
pub const CONCURRENCY: usize = 64;
/// Connections the pooled clients may open (and blocking floor threads).
pub const POOL_SIZE: usize = 16;
/// Distinct keys the concurrent workload spreads over.
pub const CONCURRENT_KEYS: usize = 1000;

/// One benchmarked workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Sequential `get` hits of a 32-byte value on one connection.
    SeqGet,
    /// Sequential `set` of 32-byte values on one connection.
    SeqSet,
    /// One `get` of 100 keys per call (one round trip).
    GetMany,
    /// 64 callers over a pool, 90% get / 10% set of 32-byte values.
    Concurrent,
    /// Sequential `get` of a 100 KiB value.
    LargeGet,
    /// Sequential `set` of a 100 KiB value.
    LargeSet,
}

impl Workload {
    pub const ALL: [Workload; 6] = [
        Workload::SeqGet,
        Workload::SeqSet,
        Workload::GetMany,
        Workload::Concurrent,
        Workload::LargeGet,
        Workload::LargeSet,
    ];

    /// The identifier shared with the Python script's JSON output.
    pub fn id(self) -> &'static str {
        match self {
            Workload::SeqGet => "seq_get",
            Workload::SeqSet => "seq_set",
            Workload::GetMany => "get_many_100",
            Workload::Concurrent => "concurrent_64",
            Workload::LargeGet => "large_get",
            Workload::LargeSet => "large_set",
        }
    }

    /// Operations per measured round at scale 1.0 (a `get_many` call counts
    /// as one operation). Short rounds (tens of milliseconds on loopback):
    /// many alternating short rounds follow a noisy machine's load better
    /// than a few long ones.
    fn base_ops(self) -> usize {
        match self {
            Workload::SeqGet | Workload::SeqSet => 2000,
            Workload::GetMany => 200,
            Workload::Concurrent => 10_000,
            Workload::LargeGet | Workload::LargeSet => 100,
        }
    }

    /// Rounds of this workload per requested round. Large values get three
    /// times as many (shorter) rounds: on a loaded machine, loopback TCP
    /// now and then stalls a 100 KiB transfer for tens of milliseconds
    /// (tail-loss probes, delayed ACKs under CPU starvation), for every
    /// system alike; with short rounds most rounds see no stall and the
    /// median is the stall-free rate.
    pub fn round_factor(self) -> usize {
        match self {
            Workload::LargeGet | Workload::LargeSet => 3,
            _ => 1,
        }
    }

    /// Operations per round at `scale`, never fewer than 10.
    pub fn ops(self, scale: f64) -> usize {
        ((self.base_ops() as f64 * scale) as usize).max(10)
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Workload::SeqGet => "seq get 32 B",
            Workload::SeqSet => "seq set 32 B",
            Workload::GetMany => "get_many 100 keys (calls)",
            Workload::Concurrent => "concurrent 64, 90/10 get/set",
            Workload::LargeGet => "get 100 KiB",
            Workload::LargeSet => "set 100 KiB",
        };
        f.write_str(text)
    }
}

/// Keys and values, built once and shared by every system.
pub struct Data {
    pub get_key: String,
    pub set_keys: Vec<String>,
    pub many_keys: Vec<String>,
    pub concurrent_keys: Vec<String>,
    pub large_key: String,
    pub small_value: Vec<u8>,
    pub large_value: Vec<u8>,
}

impl Data {
    pub fn new() -> Data {
        let keys = |kind: &str, n: usize| -> Vec<String> {
            (0..n).map(|i| format!("peers-bench:{kind}:{i}")).collect()
        };
        Data {
            get_key: "peers-bench:get".to_string(),
            set_keys: keys("set", 100),
            many_keys: keys("many", MANY_KEYS),
            concurrent_keys: keys("concurrent", CONCURRENT_KEYS),
            large_key: "peers-bench:large".to_string(),
            small_value: pattern(SMALL_VALUE_LEN),
            large_value: pattern(LARGE_VALUE_LEN),
        }
    }

    /// Every key a get workload reads, with its value (stored before the
    /// first round so every get is a hit).
    pub fn warm_items(&self) -> Vec<(&str, &[u8])> {
        let small = self.small_value.as_slice();
        let mut items = vec![(self.get_key.as_str(), small)];
        items.extend(self.many_keys.iter().map(|k| (k.as_str(), small)));
        items.extend(self.concurrent_keys.iter().map(|k| (k.as_str(), small)));
        items.push((self.large_key.as_str(), self.large_value.as_slice()));
        items
    }
}

/// Whether operation `i` of the concurrent workload is a set (every tenth).
pub fn concurrent_is_set(i: usize) -> bool {
    i.is_multiple_of(10)
}

/// The key operation `i` of the concurrent workload touches.
pub fn concurrent_key(data: &Data, i: usize) -> &str {
    // A stride coprime with the key count spreads neighbours apart.
    &data.concurrent_keys[(i * 7) % data.concurrent_keys.len()]
}

/// Printable, non-constant bytes (so nothing compresses or special-cases).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}
