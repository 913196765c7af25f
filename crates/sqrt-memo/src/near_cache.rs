//! The optional bounded in-process LRU in front of memcached, for hot small
//! numbers: a hit here costs no network round trip and no decoding.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;

use crate::arith::ExactSqrt;
use crate::config::NearCacheConfig;
use crate::key::MemoKey;
use crate::trace_context::TraceContext;

/// LRU of recent results keyed like memcached.
pub(crate) struct NearCache {
    entries: Mutex<LruCache<MemoKey, (ExactSqrt, TraceContext)>>,
    max_number_bits: u32,
}

impl NearCache {
    /// `None` when the configured capacity is zero.
    pub fn new(config: NearCacheConfig) -> Option<Self> {
        let capacity = NonZeroUsize::new(config.capacity)?;
        Some(NearCache {
            entries: Mutex::new(LruCache::new(capacity)),
            max_number_bits: config.max_number_bits,
        })
    }

    /// Whether results for a number of `bits` bits are kept.
    pub fn admits(&self, bits: u32) -> bool {
        bits <= self.max_number_bits
    }

    pub fn get(&self, key: &MemoKey) -> Option<(ExactSqrt, TraceContext)> {
        // A poisoned lock only means another thread panicked mid-update of a
        // cache; skipping the cache is always correct.
        let mut entries = self.entries.lock().ok()?;
        entries.get(key).cloned()
    }

    pub fn put(&self, key: &MemoKey, root: &ExactSqrt, source: TraceContext) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.put(key.clone(), (root.clone(), source));
        }
    }

    pub fn remove(&self, key: &MemoKey) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.pop(key);
        }
    }
}
