//! [`ClientBuilder`]: a [`ClientConfig`] set step by step, beside the
//! configuration it fills (every setter is one of its fields).

use crate::{
    Client, ClientConfig, Distribution, Error, Failover, Result, ServerAddr, ServerConfig,
};

impl Client {
    /// Starts a [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }
}

/// Builds a [`Client`] step by step; address parse errors surface at
/// [`ClientBuilder::build`].
#[derive(Debug, Default)]
pub struct ClientBuilder {
    config: ClientConfig,
    error: Option<Error>,
}

impl ClientBuilder {
    /// Adds a server (`host:port`, `[v6]:port`, `/path/to.sock`) of weight 1.
    pub fn server(self, addr: &str) -> Self {
        self.weighted_server(addr, 1)
    }

    /// Adds a server with a ketama weight.
    pub fn weighted_server(mut self, addr: &str, weight: u32) -> Self {
        match addr.parse::<ServerAddr>() {
            Ok(addr) => self.config.servers.push(ServerConfig { addr, weight }),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Adds an already-parsed server address.
    pub fn server_addr(mut self, addr: impl Into<ServerAddr>) -> Self {
        self.config.servers.push(addr.into().into());
        self
    }

    /// How keys are assigned to servers (default: weighted ketama).
    pub fn distribution(mut self, distribution: Distribution) -> Self {
        self.config.distribution = distribution;
        self
    }

    /// What happens to the keys of a server marked dead (default: fail fast).
    pub fn failover(mut self, failover: Failover) -> Self {
        self.config.failover = failover;
        self
    }

    /// Longest wait for a TCP or Unix connect.
    pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Names this client's pools in metrics (see [`ClientConfig::client_name`]).
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.config.client_name = Some(name.into());
        self
    }

    /// Longest time one request/response exchange may take.
    pub fn operation_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.config.operation_timeout = timeout;
        self
    }

    /// Most connections open to one server at once.
    pub fn max_connections_per_server(mut self, max: usize) -> Self {
        self.config.max_connections_per_server = max;
        self
    }

    /// Pooled exclusive connections (the default) or multiplexed ones
    /// (see [`ConnectionMode`](crate::ConnectionMode)).
    pub fn connection_mode(mut self, mode: crate::ConnectionMode) -> Self {
        self.config.connection_mode = mode;
        self
    }

    /// Longest wait for a free pooled connection (exclusive mode).
    pub fn pool_wait_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.config.pool_wait_timeout = timeout;
        self
    }

    /// Consecutive failures (IO errors, timeouts) after which a server is
    /// marked dead.
    pub fn dead_after_failures(mut self, failures: u32) -> Self {
        self.config.dead_after_failures = failures;
        self
    }

    /// How long a dead server is left alone before it is tried again.
    pub fn retry_dead_after(mut self, interval: std::time::Duration) -> Self {
        self.config.retry_dead_after = interval;
        self
    }

    /// Records keys in spans (`memcached.key`); off by default.
    pub fn record_keys(mut self, on: bool) -> Self {
        self.config.record_keys = on;
        self
    }

    /// The service name spans give memcached as `peer.service` (default
    /// `memcached`; e.g. `session-cache` to tell several clusters apart).
    pub fn peer_service(mut self, name: impl Into<String>) -> Self {
        self.config.peer_service = name.into();
        self
    }

    /// Longest line and value accepted (raise for a server with a larger `-I`).
    pub fn limits(mut self, limits: memcache_codec::Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Connects with TLS (feature `tls`).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::TlsConfig) -> Self {
        self.config.tls = Some(tls);
        self
    }

    /// Authenticates each new connection (memcached `-Y`).
    pub fn credentials(mut self, credentials: crate::Credentials) -> Self {
        self.config.credentials = Some(credentials);
        self
    }

    /// The configuration so far.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The client, or the first error a setter recorded; does no IO.
    pub fn build(self) -> Result<Client> {
        match self.error {
            Some(e) => Err(e),
            None => Client::new(self.config),
        }
    }
}
