//! Retrieval commands: `get`, `gets`, `gat`, `gats`, single and multi-key.
//!
//! A multi-key call sends all of one server's keys in one write and reads
//! them back in one pass; servers are asked concurrently.

use crate::trace::OpSpan;
use memcache_codec::{validate_key, Value};

use super::{finish, Client};
use crate::exchange::{Retrieval, Retrieve};
use crate::trace::{self, op_span};
use crate::{Expiry, Item, ItemMap, Result};

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
        let r = self.retrieve_one(Retrieval::Get, key.as_ref(), &span).await;
        finish(&span, r)
    }

    /// The value of `key` with its CAS token (for [`Client::cas`]).
    pub async fn gets(&self, key: impl AsRef<[u8]>) -> Result<Option<Item>> {
        let span = op_span!("gets");
        let r = self
            .retrieve_one(Retrieval::Gets, key.as_ref(), &span)
            .await;
        finish(&span, r)
    }

    /// Get and touch: the value of `key`, setting its new expiry.
    pub async fn gat(&self, key: impl AsRef<[u8]>, expiry: Expiry) -> Result<Option<Item>> {
        let span = op_span!("gat");
        let kind = Retrieval::Gat(expiry.to_exptime_now());
        let r = self.retrieve_one(kind, key.as_ref(), &span).await;
        finish(&span, r)
    }

    /// Get and touch with the CAS token.
    pub async fn gats(&self, key: impl AsRef<[u8]>, expiry: Expiry) -> Result<Option<Item>> {
        let span = op_span!("gats");
        let kind = Retrieval::Gats(expiry.to_exptime_now());
        let r = self.retrieve_one(kind, key.as_ref(), &span).await;
        finish(&span, r)
    }

    /// The values of many keys: one pipelined round trip per server, servers
    /// in parallel. Misses are absent from the map. An invalid key fails the
    /// whole call before anything is sent to any server.
    pub async fn get_many<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<ItemMap> {
        let span = op_span!("get_many");
        let r = self.retrieve_many(Retrieval::Get, keys, &span).await;
        finish(&span, r)
    }

    /// [`Client::get_many`] with CAS tokens.
    pub async fn gets_many<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<ItemMap> {
        let span = op_span!("gets_many");
        let r = self.retrieve_many(Retrieval::Gets, keys, &span).await;
        finish(&span, r)
    }

    async fn retrieve_one(
        &self,
        kind: Retrieval,
        key: &[u8],
        span: &OpSpan,
    ) -> Result<Option<Item>> {
        trace::record_key(span, self.config().record_keys, key);
        // The only validation, before a connection is taken.
        let keys = [key];
        let mut exchange: Retrieve<Option<Value>> =
            Retrieve::validated(kind, &keys, &self.config().limits)?;
        self.execute_for_key(key, &mut exchange, span).await?;
        let found = exchange.into_hits().map(item);
        trace::record_hit(span, found.as_ref().map(|item| item.value.len()));
        let hit = usize::from(found.is_some());
        self.inner.metrics.lookups(span.op, hit, 1 - hit);
        Ok(found)
    }

    async fn retrieve_many<K: AsRef<[u8]>>(
        &self,
        kind: Retrieval,
        keys: &[K],
        span: &OpSpan,
    ) -> Result<ItemMap> {
        span.record("db.operation.batch.size", trace::int(keys.len()));
        trace::record_keys(span, self.config().record_keys, keys);
        let asked = keys.len();
        if asked == 0 {
            let found = ItemMap::default();
            record_many(span, asked, &found);
            return Ok(found);
        }
        let key_lists = self.split_keys(keys.iter().map(AsRef::as_ref).collect())?;
        // Every key of every server is validated here, before any
        // server is written to.
        let limits = &self.config().limits;
        let work = key_lists
            .iter()
            .map(|(server, keys)| {
                let exchange: Retrieve<ItemMap> = Retrieve::validated(kind, keys, limits)?;
                Ok((*server, exchange))
            })
            .collect::<Result<Vec<_>>>()?;
        if self.servers().len() == 1 {
            // Routing was skipped (with one server it ignores the key)
            // but the server must be live, as for a single-key call.
            self.route(&[])?;
        }
        // Each exchange filled its own map as it read its reply: the first
        // becomes the result (the only one with a single server).
        let mut maps = self
            .on_servers(work, span)
            .await?
            .into_iter()
            .map(|(_, exchange)| exchange.into_hits());
        let mut found = maps.next().unwrap_or_default();
        for map in maps {
            found.extend(map);
        }
        record_many(span, asked, &found);
        let hits = found.len();
        self.inner
            .metrics
            .lookups(span.op, hits, asked.saturating_sub(hits));
        Ok(found)
    }

    /// The keys of a multi-key call by server. With one server all keys go
    /// to it unrouted (the caller checks it is live once); with several, a
    /// routing failure is reported as an invalid key when there is one, as
    /// the single-server path would.
    fn split_keys<'k>(&self, keys: Vec<&'k [u8]>) -> Result<Vec<KeyList<'k>>> {
        if self.servers().len() == 1 {
            return Ok(vec![(0, keys)]);
        }
        let groups = match self.group(keys.iter().copied(), |k| k) {
            Ok(groups) => groups,
            Err(e) => {
                for key in keys {
                    validate_key(key)?;
                }
                return Err(e);
            }
        };
        Ok(groups
            .into_iter()
            .map(|(server, items)| (server, items.into_iter().map(|(_, k)| k).collect()))
            .collect())
    }
}

/// The hits, misses and value bytes of a multi-key call on its span.
fn record_many(span: &OpSpan, asked: usize, found: &ItemMap) {
    if span.is_disabled() {
        return;
    }
    let bytes: usize = found.values().map(|item| item.value.len()).sum();
    span.record("memcached.hits", trace::int(found.len()));
    span.record(
        "memcached.misses",
        trace::int(asked.saturating_sub(found.len())),
    );
    span.record("memcached.value_size", trace::int(bytes));
}

/// A server index and the keys of a multi-key call that go to it.
type KeyList<'k> = (usize, Vec<&'k [u8]>);
