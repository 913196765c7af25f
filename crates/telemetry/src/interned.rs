//! Short attribute text stored once per process. The values an instrumented
//! client records on every call (`memcached`, `get`, `127.0.0.1`, `tcp`)
//! would otherwise be a fresh `String` per span: allocated on a runtime
//! worker and freed on the batch processor's thread, which misses malloc's
//! per-thread caches on both sides and was the largest single cost of a
//! traced call. Interned text is exported as a `&'static str` instead.
//!
//! Bounded: at most [`MAX_STRINGS`] distinct texts of at most [`MAX_LEN`]
//! bytes are ever kept (under 200 KiB); past that, text is copied as before.

use opentelemetry::StringValue;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Longer text (keys, messages) is rarely repeated; it is copied.
const MAX_LEN: usize = 40;
/// Distinct texts kept for the life of the process.
const MAX_STRINGS: usize = 4096;

type Set = HashSet<&'static str, BuildHasherDefault<Fnv1a>>;

/// Every interned text; locked only when a thread meets a text it has not
/// interned itself yet.
static INTERNED: Mutex<Option<Set>> = Mutex::new(None);
/// Set once [`MAX_STRINGS`] is reached: new texts are then copied.
static FULL: AtomicBool = AtomicBool::new(false);

/// Sets of [`RECENT`] (a power of two), two slots each.
const RECENT_SETS: usize = 32;
const RECENT_SLOTS: usize = RECENT_SETS * 2;

thread_local! {
    /// This thread's view of [`INTERNED`], read without locking.
    static LOCAL: RefCell<Set> = RefCell::new(Set::default());
    /// The interned copies of texts recently met at a given address: a
    /// literal or a configured host name is recorded from the same memory on
    /// every call, so its address finds it without hashing the text.
    static RECENT: [Cell<(usize, &'static str)>; RECENT_SLOTS] =
        const { [const { Cell::new((0, "")) }; RECENT_SLOTS] };
}

/// `text` as an attribute value, interned when short.
#[inline(always)]
pub(crate) fn string_value(text: &str) -> StringValue {
    if text.len() > MAX_LEN {
        return StringValue::from(text.to_owned());
    }
    let address = text.as_ptr() as usize;
    // Two ways per set: texts recorded on every call (a handful) thrash
    // only when three share a set.
    let set = recent_set(address, text.len());
    let (first, second) = RECENT.with(|recent| (recent[set].get(), recent[set + 1].get()));
    // The same address may hold other text by now: compare the content too.
    if first.0 == address && first.1 == text {
        return StringValue::from(first.1);
    }
    if second.0 == address && second.1 == text {
        return StringValue::from(second.1);
    }
    string_value_slow(text, set, first)
}

/// [`string_value`] for text not found in [`RECENT`] at its address: made
/// the first entry of its `set`, whose first entry was `first`.
#[inline(never)]
fn string_value_slow(text: &str, set: usize, first: (usize, &'static str)) -> StringValue {
    let interned = LOCAL
        .with(|local| local.borrow().get(text).copied())
        .or_else(|| {
            let interned = intern(text)?;
            LOCAL.with(|local| local.borrow_mut().insert(interned));
            Some(interned)
        });
    match interned {
        Some(interned) => {
            // The newest entry first; the one it displaces stays second.
            RECENT.with(|recent| {
                recent[set + 1].set(first);
                recent[set].set((text.as_ptr() as usize, interned));
            });
            StringValue::from(interned)
        }
        None => StringValue::from(text.to_owned()),
    }
}

/// The first slot of the [`RECENT`] set of text at `address` of `len`
/// bytes (Fibonacci hashing: nearby addresses spread over the sets).
#[inline]
fn recent_set(address: usize, len: usize) -> usize {
    let hash = (address ^ len.rotate_left(48)).wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize);
    (hash >> (usize::BITS - RECENT_SETS.trailing_zeros())) * 2
}

/// The process-wide copy of `text`, made now if there is room.
fn intern(text: &str) -> Option<&'static str> {
    // A poisoned lock only means a panic elsewhere; the set is intact.
    let mut guard = INTERNED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let set = guard.get_or_insert_with(Set::default);
    if let Some(existing) = set.get(text) {
        return Some(existing);
    }
    if FULL.load(Ordering::Relaxed) || set.len() >= MAX_STRINGS {
        FULL.store(true, Ordering::Relaxed);
        return None;
    }
    let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
    set.insert(leaked);
    Some(leaked)
}

/// FNV-1a: a few instructions per byte for short texts, where the default
/// SipHash costs more than the allocation it saves.
#[derive(Default)]
struct Fnv1a(u64);

impl Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &byte in bytes {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_shared_and_long_text_copied() {
        let first = string_value("memcached");
        let second = string_value(&String::from("memcached"));
        assert_eq!(first.as_str(), "memcached");
        assert_eq!(
            first.as_str().as_ptr(),
            second.as_str().as_ptr(),
            "one copy"
        );
        let long = "k".repeat(MAX_LEN + 1);
        assert_eq!(string_value(&long).as_str(), long);
        assert_ne!(
            string_value(&long).as_str().as_ptr(),
            string_value(&long).as_str().as_ptr()
        );
    }
}
