//! Typed results of commands whose "failure" answers are normal outcomes:
//! `NOT_STORED`, `EXISTS` and `NOT_FOUND` are values, not errors.

use bytes::Bytes;

use crate::Expiry;

/// A retrieved item: the value, its 32-bit client flags and, for
/// `gets`/`gats`, the CAS token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The stored bytes.
    pub value: Bytes,
    /// The client flags stored with them.
    pub flags: u32,
    /// The CAS token, when the command returns one.
    pub cas: Option<u64>,
}

/// The hasher of [`ItemMap`]: foldhash, randomly seeded per map. A multi-get
/// inserts every hit, and SipHash (std's default) was a large share of a
/// 100-key call; foldhash is several times cheaper while its random seed
/// still keeps colliding keys from being precomputed.
pub type ItemHasher = foldhash::fast::RandomState;

/// The hits of a multi-key retrieval ([`crate::Client::get_many`]), by key.
pub type ItemMap = std::collections::HashMap<Bytes, Item, ItemHasher>;

/// The answer to a storage command (`set`, `add`, `replace`, `append`,
/// `prepend`, `cas`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOutcome {
    /// `STORED`.
    Stored,
    /// `NOT_STORED`: the condition of `add`/`replace`/`append`/`prepend`
    /// did not hold.
    NotStored,
    /// `EXISTS`: the item changed since the CAS token was read.
    Exists,
    /// `NOT_FOUND`: `cas` on a missing item.
    NotFound,
    /// Sent with `noreply`: the server does not answer.
    NoReply,
}

/// The answer to `delete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The item was deleted.
    Deleted,
    /// There was no such item.
    NotFound,
}

/// The answer to `touch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TouchOutcome {
    /// The item's expiry was updated.
    Touched,
    /// There was no such item.
    NotFound,
}

impl StoreOutcome {
    /// The short name recorded in spans.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreOutcome::Stored => "stored",
            StoreOutcome::NotStored => "not_stored",
            StoreOutcome::Exists => "exists",
            StoreOutcome::NotFound => "not_found",
            StoreOutcome::NoReply => "noreply",
        }
    }
}

impl DeleteOutcome {
    /// The short name recorded in spans.
    pub fn as_str(self) -> &'static str {
        match self {
            DeleteOutcome::Deleted => "deleted",
            DeleteOutcome::NotFound => "not_found",
        }
    }
}

impl TouchOutcome {
    /// The short name recorded in spans.
    pub fn as_str(self) -> &'static str {
        match self {
            TouchOutcome::Touched => "touched",
            TouchOutcome::NotFound => "not_found",
        }
    }
}

/// Options of a storage command. `Default`: flags 0, never expires, wait
/// for the reply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// The 32-bit client flags stored with the value.
    pub flags: u32,
    /// When the item expires.
    pub expiry: Expiry,
    /// Send with `noreply`: faster, but the outcome is unknown
    /// ([`StoreOutcome::NoReply`]).
    pub noreply: bool,
}

impl StoreOptions {
    /// Sets the client flags.
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }

    /// Sets the expiry.
    pub fn expiry(mut self, expiry: impl Into<Expiry>) -> Self {
        self.expiry = expiry.into();
        self
    }

    /// Sends the command with `noreply`.
    pub fn noreply(mut self) -> Self {
        self.noreply = true;
        self
    }
}
