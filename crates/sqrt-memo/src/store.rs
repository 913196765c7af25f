//! `MemoStore`: the few memcached operations the memo engine needs.
//!
//! Small on purpose, so any client can back it; the workspace's traced
//! `memcache-client` does ([`crate::client_store`]). All of them are meta
//! protocol commands; the
//! single flight depends on `mg` with vivify (`N`) returning the win (`W`),
//! already-won (`Z`) and stale (`X`) flags.

use std::future::Future;

use bytes::Bytes;

use crate::error::StoreError;

/// What `mg <key> v c [N<ttl>]` returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetaItem {
    /// The value; `None` when the key was missing (`EN`, only possible
    /// without vivify). A freshly vivified placeholder has an empty value.
    pub value: Option<Bytes>,
    /// The item's CAS.
    pub cas: Option<u64>,
    /// `W`: this caller won the right to recompute.
    pub win: bool,
    /// `X`: the item is stale (invalidated).
    pub stale: bool,
    /// `Z`: another caller already holds the win.
    pub already_won: bool,
}

/// How a conditional store ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetStatus {
    /// `HD`: stored.
    Stored,
    /// `NS`: not stored.
    NotStored,
    /// `EX`: the CAS did not match (someone else wrote since).
    Exists,
    /// `NF`: a CAS was given but the item is gone.
    NotFound,
}

/// The memcached operations behind [`crate::SqrtMemo`]. Keys are ASCII and
/// valid memcached keys (the engine builds them with [`crate::MemoKey`]).
pub trait MemoStore: Send + Sync {
    /// `mg <key> v c` plus `N<vivify_ttl>` when given: on a miss the server
    /// creates an empty placeholder and hands this caller the win.
    fn meta_get(
        &self,
        key: &str,
        vivify_ttl: Option<u32>,
    ) -> impl Future<Output = Result<MetaItem, StoreError>> + Send;

    /// `ms <key> <len> T<ttl>` plus `C<cas>` when given.
    fn meta_set(
        &self,
        key: &str,
        value: &[u8],
        ttl: u32,
        compare_cas: Option<u64>,
    ) -> impl Future<Output = Result<SetStatus, StoreError>> + Send;

    /// `md <key> I T<ttl>` (plus `C<cas>`): marks the item stale, so the next
    /// vivifying `mg` hands out a fresh win. `Ok(false)` when nothing matched.
    fn meta_invalidate(
        &self,
        key: &str,
        compare_cas: Option<u64>,
        ttl: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// `md <key>` (plus `C<cas>`). `Ok(false)` when nothing matched.
    fn meta_delete(
        &self,
        key: &str,
        compare_cas: Option<u64>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A shared store is a store, so several engines can use one connection pool.
impl<S: MemoStore> MemoStore for std::sync::Arc<S> {
    fn meta_get(
        &self,
        key: &str,
        vivify_ttl: Option<u32>,
    ) -> impl Future<Output = Result<MetaItem, StoreError>> + Send {
        (**self).meta_get(key, vivify_ttl)
    }

    fn meta_set(
        &self,
        key: &str,
        value: &[u8],
        ttl: u32,
        compare_cas: Option<u64>,
    ) -> impl Future<Output = Result<SetStatus, StoreError>> + Send {
        (**self).meta_set(key, value, ttl, compare_cas)
    }

    fn meta_invalidate(
        &self,
        key: &str,
        compare_cas: Option<u64>,
        ttl: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).meta_invalidate(key, compare_cas, ttl)
    }

    fn meta_delete(
        &self,
        key: &str,
        compare_cas: Option<u64>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).meta_delete(key, compare_cas)
    }
}
