//! Typed values: what a Rust value becomes in memcached (bytes and 32-bit
//! client flags) and back, so [`Client::get_as`] and [`Client::set_as`]
//! work with strings, byte buffers, integers and, with the `serde`
//! feature, any serde type as JSON or MessagePack.
//!
//! The flags follow pymemcache's default serde
//! (`pymemcache.serde.pickle_serde`, also python-memcached's): bytes 0,
//! integers 2, text 16, so a Python program using it reads what Rust wrote
//! as the same Python objects (`bytes`, `int`, `str`) and the other way
//! round. See [`flags`] for every value. A value whose flags do not match
//! the requested type, or whose bytes do not decode, is a [`ValueError`]
//! (inside [`Error::Value`](crate::Error::Value)), never a panic and never
//! a silent guess.

mod python;
#[cfg(feature = "serde")]
mod serde;

pub use python::flags;
#[cfg(feature = "serde")]
pub use serde::{Json, MsgPack};

use std::borrow::Cow;
use std::collections::HashMap;

use bytes::Bytes;

use crate::{Client, Item, ItemHasher, Result, StoreOptions, StoreOutcome};

/// A value ready to store: its bytes and the client flags that say how to
/// read them back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded<'a> {
    /// The bytes sent as the item's data.
    pub bytes: Cow<'a, [u8]>,
    /// The item's 32-bit client flags (see [`flags`]).
    pub flags: u32,
}

/// A type that can be stored as a memcached value (like redis-rs'
/// `ToRedisArgs` or the `memcache` crate's `ToMemcacheValue`).
pub trait ToValue {
    /// The bytes and flags to store for `self`.
    fn to_value(&self) -> std::result::Result<Encoded<'_>, ValueError>;
}

/// A type that can be read back from a stored value (like redis-rs'
/// `FromRedisValue` or the `memcache` crate's `FromMemcacheValue`).
pub trait FromValue: Sized {
    /// Decodes the stored `bytes`, refusing flags that belong to another
    /// type.
    fn from_value(bytes: Bytes, flags: u32) -> std::result::Result<Self, ValueError>;
}

/// A stored value that is not of the requested type, or a value that
/// cannot be encoded. Messages name the flags and the format, never the
/// value's content (errors end up in logs and spans).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The item's flags say it holds another type (or a format this client
    /// does not read, such as a Python pickle).
    #[error("stored value has flags {found} ({}); {expected} needs {}", flags::describe(*found), flags::list(expected_flags))]
    WrongFlags {
        /// The Rust type or format asked for.
        expected: &'static str,
        /// The flags it accepts.
        expected_flags: &'static [u32],
        /// The item's flags.
        found: u32,
    },
    /// The flags match but the bytes are not a valid value of the type
    /// (bad UTF-8, not an integer, out of range, malformed JSON, ...).
    #[error("stored value is not a valid {expected}: {reason}")]
    Undecodable {
        /// The Rust type or format asked for.
        expected: &'static str,
        /// What is wrong, without the value's content.
        reason: String,
    },
    /// The value cannot be written in the format (a serde type the format
    /// cannot represent).
    #[error("value cannot be encoded as {format}: {reason}")]
    Unencodable {
        /// The format.
        format: &'static str,
        /// What is wrong, without the value's content.
        reason: String,
    },
}

impl ValueError {
    /// Checks that `found` is one of `accepted`, the flags of `expected`.
    pub(crate) fn check_flags(
        expected: &'static str,
        accepted: &'static [u32],
        found: u32,
    ) -> std::result::Result<(), ValueError> {
        if accepted.contains(&found) {
            Ok(())
        } else {
            Err(ValueError::WrongFlags {
                expected,
                expected_flags: accepted,
                found,
            })
        }
    }
}

/// A value already encoded, for formats of your own: its bytes are stored
/// with its flags as they are.
impl ToValue for Encoded<'_> {
    fn to_value(&self) -> std::result::Result<Encoded<'_>, ValueError> {
        Ok(Encoded {
            bytes: Cow::Borrowed(&self.bytes),
            flags: self.flags,
        })
    }
}

/// References store what they point to, so `set_as(key, &value, ..)` and
/// `set_as(key, "text", ..)` both work.
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> std::result::Result<Encoded<'_>, ValueError> {
        (**self).to_value()
    }
}

impl Item {
    /// The item's value as `T` (for items from [`Client::get_many`] and
    /// the other calls that return [`Item`]s).
    pub fn value_as<T: FromValue>(&self) -> std::result::Result<T, ValueError> {
        T::from_value(self.value.clone(), self.flags)
    }
}

/// A typed form of a storage command: encodes, then stores with the
/// value's flags.
macro_rules! typed_store {
    ($(#[$doc:meta])* $method:ident => $untyped:ident) => {
        $(#[$doc])*
        pub async fn $method<V: ToValue>(
            &self,
            key: impl AsRef<[u8]>,
            value: V,
            options: StoreOptions,
        ) -> Result<StoreOutcome> {
            let encoded = value.to_value()?;
            self.$untyped(key, &encoded.bytes, options.flags(encoded.flags))
                .await
        }
    };
}

impl Client {
    /// The value of `key` as `T`, or `Ok(None)` on a miss. A value stored
    /// with flags of another type, or that does not decode, is
    /// [`Error::Value`](crate::Error::Value); the item stays in the cache.
    ///
    /// ```no_run
    /// # async fn demo(client: memcache_client::Client) -> memcache_client::Result<()> {
    /// let visits: Option<u64> = client.get_as("visits").await?;
    /// let name = client.get_as::<String>("user:1:name").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_as<T: FromValue>(&self, key: impl AsRef<[u8]>) -> Result<Option<T>> {
        match self.get(key).await? {
            Some(item) => Ok(Some(item.value_as()?)),
            None => Ok(None),
        }
    }

    /// The values of many keys as `T` ([`Client::get_many`]): misses are
    /// absent from the map; one value of another type or one that does not
    /// decode fails the call with [`Error::Value`](crate::Error::Value).
    pub async fn get_many_as<T: FromValue, K: AsRef<[u8]>>(
        &self,
        keys: &[K],
    ) -> Result<HashMap<Bytes, T, ItemHasher>> {
        let items = self.get_many(keys).await?;
        let mut values = HashMap::with_capacity_and_hasher(items.len(), ItemHasher::default());
        for (key, item) in items {
            values.insert(key, T::from_value(item.value, item.flags)?);
        }
        Ok(values)
    }

    typed_store!(
        /// Stores `value` unconditionally with the flags of its type, which
        /// replace `options.flags`. A value that cannot be encoded is
        /// [`Error::Value`](crate::Error::Value) and nothing is sent.
        ///
        /// ```no_run
        /// # async fn demo(client: memcache_client::Client) -> memcache_client::Result<()> {
        /// use memcache_client::StoreOptions;
        /// client.set_as("visits", 41u64, StoreOptions::default()).await?;
        /// client.set_as("user:1:name", "Ada", StoreOptions::default()).await?;
        /// # Ok(()) }
        /// ```
        set_as => set
    );
    typed_store!(
        /// [`Client::set_as`] only if the key is absent (`NotStored`
        /// otherwise).
        add_as => add
    );
    typed_store!(
        /// [`Client::set_as`] only if the key exists (`NotStored`
        /// otherwise).
        replace_as => replace
    );
}
