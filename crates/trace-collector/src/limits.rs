//! The collector's resource limits and their defaults, in one place.
//!
//! With the defaults, whatever is posted, memory stays bounded: the store by
//! its byte budget ([`crate::store::DEFAULT_MAX_BYTES`]), each request body
//! by `max_body_bytes` before and after decompression, the spans one body
//! decodes to by `max_batch_bytes`, the number of bodies buffered and
//! decoded at once by `max_concurrent_ingests`, each string in
//! a span by `max_value_bytes`, and connections by `max_connections` and the
//! timeouts (a connection that sends no complete request head within
//! `header_timeout`, or stays idle that long between requests, is closed,
//! and one that stops reading its answer for `write_timeout` is dropped).

use std::time::Duration;

use crate::metric_store::{
    DEFAULT_MAX_METRIC_BYTES, DEFAULT_MAX_POINTS_PER_SERIES, DEFAULT_MAX_SERIES,
};

/// Default limit on a request body, before and after decompression (8 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Default cap on one tag value, annotation value, name or endpoint string
/// (64 KiB); longer ones are cut and end with
/// [`crate::model::truncation_marker`].
pub const DEFAULT_MAX_VALUE_BYTES: usize = 64 * 1024;
/// Default cap on open connections; further ones are answered 503 and closed.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Default time allowed for a request head, and for an idle keep-alive
/// connection to start its next request.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a write to a client may stay blocked (the client not
/// reading) before the connection is dropped.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed to receive a whole request body.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default limit on a metrics request body, before and after decompression
/// (1 MiB: OTLP metric exports are small, and protobuf decodes to up to
/// some twenty times its size).
pub const DEFAULT_MAX_METRICS_BODY_BYTES: usize = 1024 * 1024;
/// Default memory one decoded batch may take (64 MiB, in
/// [`crate::model::Span::approx_bytes`] units); bigger batches are refused.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;
/// Default number of request bodies buffered and decoded at the same time;
/// further posts wait their turn before their body is read.
pub const DEFAULT_MAX_CONCURRENT_INGESTS: usize = 2;

/// Resource limits applied to connections and posted bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted request body, before and after decompression.
    pub max_body_bytes: usize,
    /// Longest string kept in a span (longer ones are cut with a marker).
    pub max_value_bytes: usize,
    /// Most connections served at once.
    pub max_connections: usize,
    /// Time allowed for a request head, and idle time between requests.
    pub header_timeout: Duration,
    /// Time allowed to receive a request body.
    pub body_timeout: Duration,
    /// Time a write may stay blocked before the connection is dropped.
    pub write_timeout: Duration,
    /// Most request bodies buffered and decoded at once.
    pub max_concurrent_ingests: usize,
    /// Most memory the decoded spans of one request may take.
    pub max_batch_bytes: usize,
    /// Largest accepted metrics body, before and after decompression.
    pub max_metrics_body_bytes: usize,
    /// Most metric series held.
    pub max_metric_series: usize,
    /// Points kept per metric series.
    pub max_points_per_series: usize,
    /// Byte budget of the metric store.
    pub max_metric_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            max_concurrent_ingests: DEFAULT_MAX_CONCURRENT_INGESTS,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            max_metrics_body_bytes: DEFAULT_MAX_METRICS_BODY_BYTES,
            max_metric_series: DEFAULT_MAX_SERIES,
            max_points_per_series: DEFAULT_MAX_POINTS_PER_SERIES,
            max_metric_bytes: DEFAULT_MAX_METRIC_BYTES,
        }
    }
}
