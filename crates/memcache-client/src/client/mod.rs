//! The client: routing keys to servers and running exchanges on pooled
//! connections with timeouts, failure accounting and one safe retry.
//!
//! The commands themselves live in the submodules, one family each.

mod admin;
mod meta;
mod retrieval;
mod storage;

pub use meta::MetaRequest;

use std::sync::{Arc, Weak};
use std::time::Instant;

use crate::trace::OpSpan;

use crate::distribution::Distributor;
use memcache_codec::{Request, Response};

use crate::exchange::{Exchange, Single};
use crate::metrics::{ClientMetrics, PoolGauges, PoolState, ServerMetrics};
use crate::policy::Attempts;
use crate::server::{Connections, Server};
use crate::setup::ConnSetup;
use crate::trace;
use crate::{ClientConfig, Error, Failover, Result};

/// A traced async memcached client over one or more servers.
///
/// Cheap to clone (an `Arc`); clones share the connection pools. Every
/// public method runs in its own span (see [`crate::trace`] for the
/// attributes) and needs a tokio runtime with the IO and time drivers
/// (the `#[tokio::main]` default). Building a client does no IO:
/// connections are opened on first use.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    servers: Vec<Server>,
    distributor: Distributor,
    metrics: Arc<ClientMetrics>,
}

impl PoolGauges for Inner {
    fn observe(&self, each: &mut dyn FnMut(&ServerMetrics, PoolState<'_>)) {
        for server in &self.servers {
            let state = match &server.connections {
                Connections::Pooled(pool) => {
                    let idle = pool.idle_count();
                    let used = pool.used_count();
                    let max = pool.max_size();
                    each(
                        &server.metrics,
                        PoolState {
                            idle,
                            used,
                            max,
                            pending: Some(pool.waiting_count()),
                            in_flight: &[],
                        },
                    );
                    continue;
                }
                Connections::Multiplexed(mux) => (mux.loads(), mux.max_size()),
            };
            let (loads, max) = state;
            // A multiplexed connection is never idle in the pool's sense:
            // every open one takes requests.
            let state = PoolState {
                idle: 0,
                used: loads.len(),
                max,
                // Callers never wait for a multiplexed connection.
                pending: None,
                in_flight: &loads,
            };
            each(&server.metrics, state);
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("servers", &self.server_labels())
            .field("distribution", &self.inner.config.distribution)
            .finish()
    }
}

impl Client {
    /// A client with the given configuration. Connections are opened lazily,
    /// on first use.
    pub fn new(config: ClientConfig) -> Result<Client> {
        config.validate()?;
        let setup = ConnSetup::from_config(&config)?;
        let epoch = Instant::now();
        let distributor = Distributor::new(config.distribution, &config.servers);
        let inner = Arc::new_cyclic(|inner: &Weak<Inner>| {
            let gauges: Weak<dyn PoolGauges> = inner.clone();
            let metrics = Arc::new(ClientMetrics::new(gauges));
            let servers = config
                .servers
                .iter()
                .map(|s| {
                    let server_metrics = ServerMetrics::new(
                        metrics.clone(),
                        &s.addr.host(),
                        s.addr.port(),
                        config.client_name.as_deref(),
                    );
                    let server_metrics = Arc::new(server_metrics);
                    Server::new(
                        s.addr.clone(),
                        &config,
                        epoch,
                        setup.clone(),
                        server_metrics,
                    )
                })
                .collect();
            Inner {
                config,
                servers,
                distributor,
                metrics,
            }
        });
        Ok(Client { inner })
    }

    /// A client from a `memcache://` URL (see [`ClientConfig::from_url`]:
    /// servers, TLS, credentials and every setting as a query parameter),
    /// or a single server with default settings from `host:port`,
    /// `[v6]:port` or a socket path. Nothing is connected yet (no IO here,
    /// but for reading the certificate files a TLS URL names).
    pub fn connect(target: &str) -> Result<Client> {
        Client::new(crate::url::connect_target(target)?)
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The servers, as `host:port` (or socket path), in configuration order.
    pub fn server_labels(&self) -> Vec<String> {
        self.inner
            .servers
            .iter()
            .map(|s| s.addr.to_string())
            .collect()
    }

    /// The index (into [`Client::server_labels`]) of the server `key` goes
    /// to now, taking dead servers and the failover setting into account.
    pub fn server_for_key(&self, key: impl AsRef<[u8]>) -> Result<usize> {
        self.route(key.as_ref())
    }

    /// Idle pooled connections closed at checkout because the server had
    /// sent something (or closed them) unasked, per server (diagnostics and
    /// tests; also the `memcached.client.connection.unsolicited` metric).
    /// Multiplexed connections end on an unsolicited reply instead.
    pub fn unsolicited_closed(&self) -> Vec<u64> {
        self.inner
            .servers
            .iter()
            .map(|s| match &s.connections {
                Connections::Pooled(pool) => pool.unsolicited_count(),
                Connections::Multiplexed(_) => 0,
            })
            .collect()
    }

    /// Idle pooled connections per server (diagnostics and tests); with
    /// multiplexed connections, which are never checked out, the open ones.
    pub fn idle_connections(&self) -> Vec<usize> {
        self.inner
            .servers
            .iter()
            .map(|s| match &s.connections {
                Connections::Pooled(pool) => pool.idle_count(),
                Connections::Multiplexed(mux) => mux.open_count(),
            })
            .collect()
    }

    fn route(&self, key: &[u8]) -> Result<usize> {
        let inner = &*self.inner;
        let servers = &inner.servers;
        match inner.config.failover {
            Failover::FailFast => {
                let index = if servers.len() == 1 {
                    0
                } else {
                    inner
                        .distributor
                        .pick(key, |_| true)
                        .ok_or(Error::NoServerAvailable)?
                };
                if servers[index].is_live() {
                    Ok(index)
                } else {
                    Err(Error::ServerMarkedDead)
                }
            }
            Failover::NextServer => {
                if servers.len() == 1 {
                    return if servers[0].is_live() {
                        Ok(0)
                    } else {
                        Err(Error::NoServerAvailable)
                    };
                }
                inner
                    .distributor
                    .pick(key, |i| servers[i].is_live())
                    .ok_or(Error::NoServerAvailable)
            }
        }
    }

    /// Groups items by the server of their key, keeping each item's position
    /// in the input. Fails if any key cannot be routed.
    fn group<T>(
        &self,
        items: impl IntoIterator<Item = T>,
        key_of: impl Fn(&T) -> &[u8],
    ) -> Result<Vec<ServerGroup<T>>> {
        let mut groups: Vec<Vec<(usize, T)>> = Vec::new();
        groups.resize_with(self.inner.servers.len(), Vec::new);
        for (position, item) in items.into_iter().enumerate() {
            let server = self.route(key_of(&item))?;
            groups[server].push((position, item));
        }
        Ok(groups
            .into_iter()
            .enumerate()
            .filter(|(_, g)| !g.is_empty())
            .collect())
    }

    /// Runs one exchange on server `index`, on its pool or its multiplexed
    /// connections: the client's one retry loop. Each attempt is the
    /// connection mode's; what a failure means, whether the request is sent
    /// once more on a new connection (only when the server most likely
    /// never read it), and whether it counts towards marking the server
    /// dead is [`crate::policy`]'s.
    ///
    /// `span` is the call's span, for its events; the server and peer are
    /// recorded in it only with `record_server` (not when the call involves
    /// several servers). Op spans are recorded into, never entered: a
    /// wrapper entering the span on every poll (`Instrument`) would cost an
    /// enter and exit per poll, plus the OpenTelemetry context attached on
    /// each, and a copy of the whole call future, for no span the client
    /// creates inside a call.
    async fn execute<E: Exchange + ?Sized>(
        &self,
        index: usize,
        exchange: &mut E,
        span: &OpSpan,
        record_server: bool,
    ) -> Result<()> {
        let server = &self.inner.servers[index];
        let config = &self.inner.config;
        let (limits, timeout) = (&config.limits, config.operation_timeout);
        let on_peer = |peer: &_| {
            if record_server {
                trace::record_server(span, server, peer);
            }
        };
        let started = Instant::now();
        let mut attempts = Attempts::default();
        let result = loop {
            let attempt = match &server.connections {
                Connections::Pooled(pool) => pool.run(exchange, limits, timeout, on_peer).await,
                Connections::Multiplexed(mux) => mux.run(exchange, limits, timeout, on_peer).await,
            };
            match attempt {
                Ok(()) => {
                    server.record_success();
                    break Ok(());
                }
                Err(failure) => match attempts.after(failure) {
                    None => continue,
                    Some(failure) => break Err(server.failed(failure, span)),
                },
            }
        };
        server
            .metrics
            .operation(span.op, started.elapsed(), result.as_ref().err());
        result
    }

    /// Runs a single-key exchange on the key's server. With failover on, a
    /// server that could not be connected to (the request was never sent)
    /// and is now marked dead hands the call to the key's next live server
    /// at once: the call that discovers an outage does not fail because of
    /// it. A server not yet marked dead keeps its keys (reads and writes of
    /// a key must agree on its server).
    async fn execute_for_key<E: Exchange + ?Sized>(
        &self,
        key: &[u8],
        exchange: &mut E,
        span: &OpSpan,
    ) -> Result<()> {
        let mut index = self.route(key)?;
        // Each retry follows a server newly marked dead: at most one per server.
        for _ in 0..self.inner.servers.len() {
            match self.execute(index, exchange, span, true).await {
                Err(e)
                    if self.inner.config.failover == Failover::NextServer
                        && e.is_connect_failure()
                        && !self.inner.servers[index].is_live() =>
                {
                    match self.route(key) {
                        Ok(next) if next != index => index = next,
                        _ => return Err(e),
                    }
                }
                result => return result,
            }
        }
        self.execute(index, exchange, span, true).await
    }

    /// One single-line request for `key` on its server (`None` for
    /// `noreply`). The request is checked here, before a connection is
    /// taken, and only here: the exchange writes it as validated. Base64
    /// meta keys may be any bytes (the encoder encodes them); routing uses
    /// the raw key.
    async fn single_key(
        &self,
        key: &[u8],
        request: Request<'_>,
        span: &OpSpan,
    ) -> Result<Option<Response>> {
        trace::record_key(span, self.config().record_keys, key);
        let valid = request.validate(&self.config().limits)?;
        let mut exchange = Single::validated(valid);
        self.execute_for_key(key, &mut exchange, span).await?;
        Ok(exchange.reply)
    }

    /// Runs one exchange per server concurrently (or directly when there is
    /// only one), in server order.
    async fn on_servers<E: Exchange>(
        &self,
        work: Vec<(usize, E)>,
        span: &OpSpan,
    ) -> Result<Vec<(usize, E)>> {
        if work.len() == 1 {
            let mut work = work;
            if let Some((index, exchange)) = work.first_mut() {
                self.execute(*index, exchange, span, true).await?;
            }
            return Ok(work);
        }
        crate::join::try_join_all(work.into_iter().map(|(index, mut exchange)| async move {
            self.execute(index, &mut exchange, span, false).await?;
            Ok::<_, Error>((index, exchange))
        }))
        .await
    }

    fn servers(&self) -> &[Server] {
        &self.inner.servers
    }
}

/// A server index and the items routed to it, each with its input position.
type ServerGroup<T> = (usize, Vec<(usize, T)>);

/// Records the call's result on its span and hands it back.
fn finish<T>(span: &OpSpan, result: Result<T>) -> Result<T> {
    trace::record_result(span, &result);
    result
}
