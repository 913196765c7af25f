//! Where a retrieval exchange puts the values it accepts: straight into
//! the caller's result, so a multi-get builds its [`ItemMap`] while it
//! reads instead of collecting the values first and moving each again.

use memcache_codec::Value;

use crate::{Item, ItemMap};

/// The values a retrieval accepted, each already checked to answer one of
/// its keys, in request order.
pub(crate) trait Hits {
    /// An empty collection for a request of `keys` keys, with room for
    /// every one of them being a hit.
    fn for_keys(keys: usize) -> Self;
    /// Takes one accepted value.
    fn add(&mut self, value: Value);
}

/// A single-key retrieval: at most one value (a second one names no key
/// after the first and is refused before it gets here).
impl Hits for Option<Value> {
    fn for_keys(_keys: usize) -> Self {
        None
    }
    fn add(&mut self, value: Value) {
        *self = Some(value);
    }
}

/// Every value in reply order (the reply checks of the fuzz target).
impl Hits for Vec<Value> {
    fn for_keys(keys: usize) -> Self {
        Vec::with_capacity(keys)
    }
    fn add(&mut self, value: Value) {
        self.push(value);
    }
}

/// A multi-key call's result, by key. The key is moved out of the reply,
/// not cloned.
impl Hits for ItemMap {
    fn for_keys(keys: usize) -> Self {
        ItemMap::with_capacity_and_hasher(keys, Default::default())
    }
    #[inline]
    fn add(&mut self, value: Value) {
        let item = Item {
            value: value.data,
            flags: value.flags,
            cas: value.cas,
        };
        self.insert(value.key, item);
    }
}
