//! [`MemoStore`] for the workspace's traced `memcache-client`, so the memo
//! engine's memcached traffic shows up as client spans (`meta_get`,
//! `meta_set`, ...) under `sqrt.lookup` / `sqrt.store`, with pooling,
//! timeouts and multi-server hashing from the client.

use memcache_client::{Client, MetaDeleteFlags, MetaGetFlags, MetaSetFlags, MetaStatus};

use crate::error::StoreError;
use crate::store::{MemoStore, MetaItem, SetStatus};

fn store_error(operation: &'static str) -> impl Fn(memcache_client::Error) -> StoreError {
    move |e| StoreError::new(operation, e.to_string())
}

fn unexpected(operation: &'static str, status: MetaStatus) -> StoreError {
    StoreError::new(operation, format!("unexpected status {status:?}"))
}

impl MemoStore for Client {
    async fn meta_get(&self, key: &str, vivify_ttl: Option<u32>) -> Result<MetaItem, StoreError> {
        let flags = MetaGetFlags {
            return_value: true,
            return_cas: true,
            vivify: vivify_ttl,
            ..MetaGetFlags::default()
        };
        let reply = Client::meta_get(self, key, flags)
            .await
            .map_err(store_error("meta get"))?;
        match reply.status {
            MetaStatus::Value | MetaStatus::Header | MetaStatus::Miss => Ok(MetaItem {
                value: reply.value,
                cas: reply.flags.cas,
                win: reply.flags.win,
                stale: reply.flags.stale,
                already_won: reply.flags.already_won,
            }),
            other => Err(unexpected("meta get", other)),
        }
    }

    async fn meta_set(
        &self,
        key: &str,
        value: &[u8],
        ttl: u32,
        compare_cas: Option<u64>,
    ) -> Result<SetStatus, StoreError> {
        let flags = MetaSetFlags {
            ttl: Some(ttl),
            compare_cas,
            ..MetaSetFlags::default()
        };
        let reply = Client::meta_set(self, key, value, flags)
            .await
            .map_err(store_error("meta set"))?;
        match reply.status {
            MetaStatus::Header => Ok(SetStatus::Stored),
            MetaStatus::NotStored => Ok(SetStatus::NotStored),
            MetaStatus::Exists => Ok(SetStatus::Exists),
            MetaStatus::NotFound => Ok(SetStatus::NotFound),
            other => Err(unexpected("meta set", other)),
        }
    }

    async fn meta_invalidate(
        &self,
        key: &str,
        compare_cas: Option<u64>,
        ttl: u32,
    ) -> Result<bool, StoreError> {
        let flags = MetaDeleteFlags {
            invalidate: true,
            ttl: Some(ttl),
            compare_cas,
            ..MetaDeleteFlags::default()
        };
        delete(self, "meta delete (invalidate)", key, flags).await
    }

    async fn meta_delete(&self, key: &str, compare_cas: Option<u64>) -> Result<bool, StoreError> {
        let flags = MetaDeleteFlags {
            compare_cas,
            ..MetaDeleteFlags::default()
        };
        delete(self, "meta delete", key, flags).await
    }
}

async fn delete(
    client: &Client,
    operation: &'static str,
    key: &str,
    flags: MetaDeleteFlags,
) -> Result<bool, StoreError> {
    let reply = client
        .meta_delete(key, flags)
        .await
        .map_err(store_error(operation))?;
    match reply.status {
        MetaStatus::Header => Ok(true),
        MetaStatus::NotFound | MetaStatus::Exists => Ok(false),
        other => Err(unexpected(operation, other)),
    }
}
