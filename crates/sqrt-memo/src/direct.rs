//! `DirectStore`: a minimal [`MemoStore`] over a few plain TCP connections
//! speaking the meta protocol through `memcache-codec`.
//!
//! It exists so the engine, its worker binary and its tests stand on a real
//! memcached without depending on the full traced client; it has no
//! failover, hashing or pipelining. A connection is taken out of its slot for
//! the length of one request, so a cancelled call drops that connection
//! instead of leaving a half-read reply for the next caller.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use memcache_codec::{
    Decoder, Limits, MetaDeleteFlags, MetaGetFlags, MetaResponse, MetaSetFlags, MetaStatus,
    Request, Response,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use crate::error::StoreError;
use crate::store::{MemoStore, MetaItem, SetStatus};

/// Connections kept by default.
const DEFAULT_POOL_SIZE: usize = 4;
/// Longest wait for one request's reply.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A small pool of meta-protocol connections to one memcached.
pub struct DirectStore {
    addr: SocketAddr,
    slots: Vec<Mutex<Option<Connection>>>,
    next: AtomicUsize,
    limits: Limits,
    timeout: Duration,
}

struct Connection {
    stream: TcpStream,
    read: BytesMut,
    write: BytesMut,
}

impl DirectStore {
    /// A store for the memcached at `addr`; connects lazily, so this never
    /// fails. Values up to the codec's default 1 MiB are accepted.
    pub fn new(addr: SocketAddr) -> Self {
        Self::with_options(addr, DEFAULT_POOL_SIZE, Limits::default(), DEFAULT_TIMEOUT)
    }

    /// A store with `pool_size` connections (at least one), codec `limits`
    /// (raise `max_value_len` with the server's `-I`) and a per-request
    /// `timeout`.
    pub fn with_options(
        addr: SocketAddr,
        pool_size: usize,
        limits: Limits,
        timeout: Duration,
    ) -> Self {
        DirectStore {
            addr,
            slots: (0..pool_size.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            limits,
            timeout,
        }
    }

    /// The server address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    async fn call(
        &self,
        operation: &'static str,
        request: Request<'_>,
    ) -> Result<MetaResponse, StoreError> {
        let fail = |message: String| StoreError::new(operation, message);
        let mut encoded = BytesMut::new();
        request
            .encode(&mut encoded, &self.limits)
            .map_err(|e| fail(format!("cannot encode request: {e}")))?;
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        let mut guard = slot.lock().await;
        let taken = guard.take();
        let exchange = async {
            let mut connection = match taken {
                Some(connection) => connection,
                None => Connection::open(self.addr)
                    .await
                    .map_err(|e| fail(format!("connect: {e}")))?,
            };
            let response = connection
                .exchange(&encoded, &Decoder::new(self.limits))
                .await
                .map_err(fail)?;
            Ok((connection, response))
        };
        let (connection, response) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| fail(format!("no reply within {:?}", self.timeout)))??;
        // Only a connection that finished its exchange goes back to the pool.
        *guard = Some(connection);
        match response {
            Response::Meta(meta) => Ok(meta),
            Response::Error => Err(fail("server replied ERROR".into())),
            Response::ClientError(_) => Err(fail("server replied CLIENT_ERROR".into())),
            Response::ServerError(_) => Err(fail("server replied SERVER_ERROR".into())),
            _ => Err(fail("unexpected reply to a meta command".into())),
        }
    }
}

impl Connection {
    async fn open(addr: SocketAddr) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            read: BytesMut::with_capacity(16 * 1024),
            write: BytesMut::new(),
        })
    }

    /// Writes one request and reads exactly one reply item.
    async fn exchange(&mut self, request: &[u8], decoder: &Decoder) -> Result<Response, String> {
        self.write.clear();
        self.write.extend_from_slice(request);
        self.stream
            .write_all(&self.write)
            .await
            .map_err(|e| format!("write: {e}"))?;
        loop {
            match decoder.decode(&mut self.read) {
                Ok(Some(response)) => return Ok(response),
                Ok(None) => {}
                Err(e) => return Err(format!("bad reply: {e}")),
            }
            let read = self
                .stream
                .read_buf(&mut self.read)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if read == 0 {
                return Err("connection closed by server".into());
            }
        }
    }
}

impl MemoStore for DirectStore {
    async fn meta_get(&self, key: &str, vivify_ttl: Option<u32>) -> Result<MetaItem, StoreError> {
        let flags = MetaGetFlags {
            return_value: true,
            return_cas: true,
            vivify: vivify_ttl,
            ..MetaGetFlags::default()
        };
        let reply = self
            .call(
                "meta get",
                Request::MetaGet {
                    key: key.as_bytes(),
                    flags,
                },
            )
            .await?;
        match reply.status {
            MetaStatus::Value | MetaStatus::Header | MetaStatus::Miss => Ok(MetaItem {
                value: reply.value,
                cas: reply.flags.cas,
                win: reply.flags.win,
                stale: reply.flags.stale,
                already_won: reply.flags.already_won,
            }),
            other => Err(StoreError::new(
                "meta get",
                format!("unexpected status {other:?}"),
            )),
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
        let reply = self
            .call(
                "meta set",
                Request::MetaSet {
                    key: key.as_bytes(),
                    value,
                    flags,
                },
            )
            .await?;
        match reply.status {
            MetaStatus::Header => Ok(SetStatus::Stored),
            MetaStatus::NotStored => Ok(SetStatus::NotStored),
            MetaStatus::Exists => Ok(SetStatus::Exists),
            MetaStatus::NotFound => Ok(SetStatus::NotFound),
            other => Err(StoreError::new(
                "meta set",
                format!("unexpected status {other:?}"),
            )),
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
        self.delete("meta delete (invalidate)", key, flags).await
    }

    async fn meta_delete(&self, key: &str, compare_cas: Option<u64>) -> Result<bool, StoreError> {
        let flags = MetaDeleteFlags {
            compare_cas,
            ..MetaDeleteFlags::default()
        };
        self.delete("meta delete", key, flags).await
    }
}

impl DirectStore {
    async fn delete(
        &self,
        operation: &'static str,
        key: &str,
        flags: MetaDeleteFlags,
    ) -> Result<bool, StoreError> {
        let reply = self
            .call(
                operation,
                Request::MetaDelete {
                    key: key.as_bytes(),
                    flags,
                },
            )
            .await?;
        match reply.status {
            MetaStatus::Header => Ok(true),
            MetaStatus::NotFound | MetaStatus::Exists => Ok(false),
            other => Err(StoreError::new(
                operation,
                format!("unexpected status {other:?}"),
            )),
        }
    }
}
