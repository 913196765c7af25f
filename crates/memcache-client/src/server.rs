//! One configured server: its address, connections and health (the
//! dead/alive rule is [`crate::policy::Health`]'s; this records its
//! transitions in metrics and spans).

use std::sync::Arc;
use std::time::Instant;

use crate::metrics::ServerMetrics;
use crate::mux::Multiplexer;
use crate::policy::{Failure, Health};
use crate::pool::Pool;
use crate::setup::ConnSetup;
use crate::{ClientConfig, ConnectionMode, Error, ServerAddr};

pub(crate) struct Server {
    pub addr: ServerAddr,
    /// `server.address`: host name or socket path, computed once.
    pub host: String,
    /// `peer.service`, from the configuration.
    pub peer_service: String,
    pub connections: Connections,
    /// Its attribute sets and the client's instruments.
    pub metrics: Arc<ServerMetrics>,
    health: Health,
}

/// A server's connections, as [`ConnectionMode`] says.
pub(crate) enum Connections {
    Pooled(Pool),
    Multiplexed(Multiplexer),
}

impl Server {
    pub fn new(
        addr: ServerAddr,
        config: &ClientConfig,
        epoch: Instant,
        setup: ConnSetup,
        metrics: Arc<ServerMetrics>,
    ) -> Server {
        let connections = match config.connection_mode {
            ConnectionMode::Exclusive => Connections::Pooled(Pool::new(
                addr.clone(),
                config.max_connections_per_server,
                config.connect_timeout,
                config.pool_wait_timeout,
                config.limits,
                setup,
                metrics.clone(),
            )),
            ConnectionMode::Multiplexed => Connections::Multiplexed(Multiplexer::new(
                addr.clone(),
                config.max_connections_per_server,
                config.connect_timeout,
                config.limits,
                setup,
                metrics.clone(),
            )),
        };
        Server {
            host: addr.host(),
            peer_service: config.peer_service.clone(),
            addr,
            connections,
            metrics,
            health: Health::new(epoch, config.dead_after_failures, config.retry_dead_after),
        }
    }

    /// Whether calls may go to this server now.
    pub fn is_live(&self) -> bool {
        self.health.is_live()
    }

    pub fn record_success(&self) {
        if self.health.success() {
            self.metrics.server_state(true);
        }
    }

    /// The error of a failed call, counted against the server if the
    /// failure says something about its health (see
    /// [`Error::is_server_failure`]).
    pub fn failed(&self, failure: Failure, span: &tracing::Span) -> Error {
        if failure.counted && failure.error.is_server_failure() {
            self.record_failure(span);
        }
        failure.error
    }

    /// Counts a failure. Marking the server dead is an event of `span`, the
    /// failing call's: op spans are not entered while their futures run, so
    /// the event names its parent.
    pub fn record_failure(&self, span: &tracing::Span) {
        if self.health.failure() {
            tracing::warn!(parent: span, server.address = %self.host, "memcached server marked dead");
            self.metrics.server_state(false);
        }
    }
}
