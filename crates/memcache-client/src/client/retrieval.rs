//! Retrieval commands: `get`, `gets`, `gat`, `gats`, single and multi-key.
//!
//! A multi-key call sends all of one server's keys in one write and reads
//! them back in one pass; servers are asked concurrently.

use std::collections::HashMap;

use bytes::Bytes;
use memcache_codec::{validate_key, Value};
use tracing::{Instrument, Span};

use super::{finish, Client};
use crate::exchange::{Retrieval, Retrieve};
use crate::trace::{self, op_span};
use crate::{Expiry, Item, Result};

fn item(v: Value) -> Item {
    Item {
        value: v.data,
        flags: v.flags,
        cas: v.cas,
    }
}

impl Client {
    /// The value of `key`, or `Ok(None)` on a miss.
    pub async fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Item>> {
        let span = op_span!("get");
        let r = self
            .retrieve_one(Retrieval::Get, key.as_ref(), &span)
            .instrument(span.clone())
            .await;
        finish(&span, r)
    }

    /// The value of `key` with its CAS token (for [`Client::cas`]).
    pub async fn gets(&self, key: impl AsRef<[u8]>) -> Result<Option<Item>> {
        let span = op_span!("gets");
        let r = self
            .retrieve_one(Retrieval::Gets, key.as_ref(), &span)
            .instrument(span.clone())
            .await;
        finish(&span, r)
    }

    /// Get and touch: the value of `key`, setting its new expiry.
    pub async fn gat(&self, key: impl AsRef<[u8]>, expiry: Expiry) -> Result<Option<Item>> {
        let span = op_span!("gat");
        let kind = Retrieval::Gat(expiry.to_exptime_now());
        let r = self
            .retrieve_one(kind, key.as_ref(), &span)
            .instrument(span.clone())
            .await;
        finish(&span, r)
    }

    /// Get and touch with the CAS token.
    pub async fn gats(&self, key: impl AsRef<[u8]>, expiry: Expiry) -> Result<Option<Item>> {
        let span = op_span!("gats");
        let kind = Retrieval::Gats(expiry.to_exptime_now());
        let r = self
            .retrieve_one(kind, key.as_ref(), &span)
            .instrument(span.clone())
            .await;
        finish(&span, r)
    }

    /// The values of many keys: one pipelined round trip per server, servers
    /// in parallel. Misses are absent from the map.
    pub async fn get_many<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<HashMap<Bytes, Item>> {
        let span = op_span!("get_many");
        let r = self
            .retrieve_many(Retrieval::Get, keys, &span)
            .instrument(span.clone())
            .await;
        finish(&span, r)
    }

    /// [`Client::get_many`] with CAS tokens.
    pub async fn gets_many<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<HashMap<Bytes, Item>> {
        let span = op_span!("gets_many");
        let r = self
            .retrieve_many(Retrieval::Gets, keys, &span)
            .instrument(span.clone())
            .await;
        finish(&span, r)
    }

    async fn retrieve_one(&self, kind: Retrieval, key: &[u8], span: &Span) -> Result<Option<Item>> {
        trace::record_key(span, self.config().record_keys, key);
        validate_key(key)?;
        let keys = [key];
        let mut exchange = Retrieve::new(kind, &keys);
        self.execute_for_key(key, &mut exchange, span).await?;
        let found = exchange.values.pop().map(item);
        if !span.is_disabled() {
            span.record("memcached.hit", found.is_some());
            if let Some(item) = &found {
                span.record("memcached.value_size", trace::int(item.value.len()));
            }
        }
        Ok(found)
    }

    async fn retrieve_many<K: AsRef<[u8]>>(
        &self,
        kind: Retrieval,
        keys: &[K],
        span: &Span,
    ) -> Result<HashMap<Bytes, Item>> {
        span.record("db.operation.batch.size", trace::int(keys.len()));
        trace::record_keys(span, self.config().record_keys, keys);
        let keys: Vec<&[u8]> = keys.iter().map(AsRef::as_ref).collect();
        for key in &keys {
            validate_key(key)?;
        }
        let groups = self.group(keys.iter().copied(), |k| k)?;
        // Each server's keys as a plain slice for the request.
        let key_lists: Vec<(usize, Vec<&[u8]>)> = groups
            .into_iter()
            .map(|(server, items)| (server, items.into_iter().map(|(_, k)| k).collect()))
            .collect();
        let work = key_lists
            .iter()
            .map(|(server, keys)| (*server, Retrieve::new(kind, keys)))
            .collect();
        let done = self.on_servers(work, span).await?;
        let mut found = HashMap::with_capacity(keys.len());
        let mut bytes = 0u64;
        for (_, exchange) in done {
            for value in exchange.values {
                bytes += value.data.len() as u64;
                found.insert(value.key.clone(), item(value));
            }
        }
        if !span.is_disabled() {
            span.record("memcached.hits", trace::int(found.len()));
            span.record(
                "memcached.misses",
                trace::int(keys.len().saturating_sub(found.len())),
            );
            span.record("memcached.value_size", trace::int(bytes));
        }
        Ok(found)
    }
}
