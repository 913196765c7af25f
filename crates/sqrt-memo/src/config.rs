//! Settings of the memo engine.

use std::time::Duration;

use crate::limits::Limits;
use crate::secret::MemoSecret;

/// Item size memcached accepts by default (`-I 1m`) less room for the item
/// header and key.
pub const DEFAULT_MAX_ITEM_SIZE: usize = memcache_codec::Limits::DEFAULT_MAX_VALUE_LEN - 4096;

/// How [`crate::SqrtMemo`] uses memcached.
#[derive(Debug, Clone)]
pub struct MemoConfig {
    /// Expiry of stored results in seconds (0: never expire, LRU only).
    pub ttl: u32,
    /// Lifetime in seconds of the placeholder a winner holds while it
    /// computes; should exceed the longest computation, since a placeholder
    /// that expires lets a waiter win and compute again.
    pub vivify_ttl: u32,
    /// How long a waiter polls for another process's result before
    /// computing itself.
    pub max_wait: Duration,
    /// First poll interval of a waiter; doubles up to `poll_max`.
    pub poll_initial: Duration,
    /// Longest poll interval.
    pub poll_max: Duration,
    /// Check a hit's root against the number before trusting it (default
    /// on): against the remainder stored with it, or by squaring it
    /// ([`crate::certificate`]). Turning it off takes effect only for
    /// values authenticated by `secret`: without a secret every hit is
    /// verified. Checksum and binding are always checked. It also decides
    /// what this engine writes: the remainder is stored when its own hits
    /// are verified.
    pub verify_hits: bool,
    /// Authenticates the values this process writes and reads (see
    /// [`MemoSecret`]); the default reads `SQRT_MEMO_SECRET`. With a secret,
    /// values without its tag are refused (recomputed and overwritten).
    pub secret: Option<MemoSecret>,
    /// Digits and number size accepted (see [`Limits`]).
    pub limits: Limits,
    /// Longest stored root value accepted from the cache (default 64 MiB);
    /// also bounds what a manifest may announce.
    pub max_value_len: usize,
    /// Largest value stored as one item; larger results are chunked.
    pub max_item_size: usize,
    /// In-process cache in front of memcached; `None` (the default) is off.
    pub near_cache: Option<NearCacheConfig>,
    /// Compute without the cache when memcached fails (recorded on the
    /// span); when false such failures are returned as errors.
    pub fail_open: bool,
    /// How many corrupt values in a row are invalidated and retried through
    /// the single flight before the engine just computes and overwrites.
    pub max_corrupt_retries: u32,
}

impl Default for MemoConfig {
    fn default() -> Self {
        MemoConfig {
            ttl: 0,
            vivify_ttl: 30,
            max_wait: Duration::from_secs(30),
            poll_initial: Duration::from_millis(2),
            poll_max: Duration::from_millis(100),
            verify_hits: true,
            secret: MemoSecret::from_env(),
            limits: Limits::default(),
            max_value_len: 64 << 20,
            max_item_size: DEFAULT_MAX_ITEM_SIZE,
            near_cache: None,
            fail_open: true,
            max_corrupt_retries: 3,
        }
    }
}

impl MemoConfig {
    /// Most chunks a manifest may announce under this configuration: what a
    /// value of `max_value_len` needs at `max_item_size` per chunk.
    pub fn max_chunks(&self) -> u32 {
        let chunks = self.max_value_len.div_ceil(self.max_item_size.max(1));
        u32::try_from(chunks).unwrap_or(u32::MAX)
    }
}

/// The bounded in-process LRU cache for hot small numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NearCacheConfig {
    /// Most entries kept.
    pub capacity: usize,
    /// Only results for numbers of at most this many bits are kept, so a few
    /// huge roots cannot pin memory.
    pub max_number_bits: u32,
}

impl Default for NearCacheConfig {
    fn default() -> Self {
        NearCacheConfig {
            capacity: 1024,
            max_number_bits: 4096,
        }
    }
}
