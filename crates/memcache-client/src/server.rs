//! One configured server: its address, connections and health.
//!
//! Health is two atomics, so the hot path reads it without locking: a run
//! of `dead_after_failures` consecutive failures (IO errors, timeouts)
//! marks the server dead until `retry_dead_after` has passed; after that
//! one call is let through, and a single further failure marks it dead
//! again while a success revives it fully.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::mux::Multiplexer;
use crate::pool::Pool;
use crate::setup::ConnSetup;
use crate::{ClientConfig, ConnectionMode, Error, ServerAddr};

pub(crate) struct Server {
    pub addr: ServerAddr,
    /// `server.address`: host name or socket path, computed once.
    pub host: String,
    /// `peer.service`: the configured service name, copied once.
    pub peer_service: String,
    pub connections: Connections,
    health: Health,
}

/// A server's connections, as [`ConnectionMode`] says.
pub(crate) enum Connections {
    Pooled(Pool),
    Multiplexed(Multiplexer),
}

struct Health {
    /// The client's clock origin; times are milliseconds since it, plus one
    /// so that 0 can mean "alive".
    epoch: Instant,
    failures: AtomicU32,
    dead_until_ms: AtomicU64,
    threshold: u32,
    retry_after: Duration,
}

impl Server {
    pub fn new(
        addr: ServerAddr,
        config: &ClientConfig,
        epoch: Instant,
        setup: ConnSetup,
    ) -> Server {
        let connections = match config.connection_mode {
            ConnectionMode::Exclusive => Connections::Pooled(Pool::new(
                addr.clone(),
                config.max_connections_per_server,
                config.connect_timeout,
                config.pool_wait_timeout,
                config.limits,
                setup,
            )),
            ConnectionMode::Multiplexed => Connections::Multiplexed(Multiplexer::new(
                addr.clone(),
                config.max_connections_per_server,
                config.connect_timeout,
                config.limits,
                setup,
            )),
        };
        Server {
            host: addr.host(),
            peer_service: config.peer_service.to_string(),
            addr,
            connections,
            health: Health {
                epoch,
                failures: AtomicU32::new(0),
                dead_until_ms: AtomicU64::new(0),
                threshold: config.dead_after_failures.max(1),
                retry_after: config.retry_dead_after,
            },
        }
    }

    /// Whether calls may go to this server now.
    pub fn is_live(&self) -> bool {
        let until = self.health.dead_until_ms.load(Relaxed);
        until == 0 || self.health.now_ms() >= until
    }

    pub fn record_success(&self) {
        let h = &self.health;
        // Loads first: the common case writes nothing (no cache-line traffic).
        if h.failures.load(Relaxed) != 0 {
            h.failures.store(0, Relaxed);
        }
        if h.dead_until_ms.load(Relaxed) != 0 {
            h.dead_until_ms.store(0, Relaxed);
        }
    }

    /// `error`, counted against the server if it says something about the
    /// server's health (see [`Error::is_server_failure`]).
    pub fn failed(&self, error: Error, span: &tracing::Span) -> Error {
        if error.is_server_failure() {
            self.record_failure(span);
        }
        error
    }

    /// Counts a failure; marks the server dead at the threshold. The
    /// warning is an event of `span`, the failing call's: op spans are not
    /// entered while their futures run, so the event names its parent.
    pub fn record_failure(&self, span: &tracing::Span) {
        let h = &self.health;
        let failures = h.failures.fetch_add(1, Relaxed) + 1;
        if failures >= h.threshold {
            let retry_ms = u64::try_from(h.retry_after.as_millis()).unwrap_or(u64::MAX);
            h.dead_until_ms
                .store(h.now_ms().saturating_add(retry_ms.max(1)), Relaxed);
            // One more failure after the retry interval re-marks it dead.
            h.failures.store(h.threshold - 1, Relaxed);
            tracing::warn!(parent: span, server.address = %self.host, "memcached server marked dead");
        }
    }
}

impl Health {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }
}
