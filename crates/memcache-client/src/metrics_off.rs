//! The client's metrics without the `metrics` feature: the same calls as
//! in `metrics.rs`, doing nothing (and compiled away).

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::Error;

/// No instruments.
pub(crate) struct ClientMetrics;

/// No attribute sets.
pub(crate) struct ServerMetrics;

/// What the observable instruments would read from a live client.
pub(crate) trait PoolGauges: Send + Sync {
    /// See `metrics.rs`.
    #[allow(dead_code, reason = "read only with the `metrics` feature")]
    fn observe(&self, each: &mut dyn FnMut(&ServerMetrics, PoolState<'_>));
}

/// One server's connections at an observation.
#[allow(dead_code, reason = "read only with the `metrics` feature")]
pub(crate) struct PoolState<'a> {
    pub idle: usize,
    pub used: usize,
    pub max: usize,
    /// Callers waiting for a pooled connection (none in multiplexed mode).
    pub pending: Option<usize>,
    pub in_flight: &'a [usize],
}

impl ClientMetrics {
    pub fn new(_gauges: Weak<dyn PoolGauges>) -> ClientMetrics {
        ClientMetrics
    }
    #[inline]
    pub fn lookups(&self, _operation: crate::operation::Operation, _hits: usize, _misses: usize) {}
}

impl ServerMetrics {
    pub fn new(
        _client: Arc<ClientMetrics>,
        _host: &str,
        _port: Option<u16>,
        _client_name: Option<&str>,
    ) -> ServerMetrics {
        ServerMetrics
    }
    #[inline]
    pub fn operation(
        &self,
        _operation: crate::operation::Operation,
        _elapsed: Duration,
        _error: Option<&Error>,
    ) {
    }
    #[inline]
    pub fn waited(&self, _waited: Duration) {}
    #[inline]
    pub fn wait_timed_out(&self) {}
    #[inline]
    pub fn created(&self, _took: Duration) {}
    #[inline]
    pub fn server_state(&self, _alive: bool) {}
    #[inline]
    pub fn unsolicited(&self) {}
}
