//! `traced-memcache`: the umbrella crate of the workspace.
//!
//! It re-exports the workspace's crates so an application can depend on one
//! package, and it hosts the top-level `examples/` and `benches/`. Each crate
//! can also be used on its own:
//!
//! - [`codec`]: the sans-IO memcached text and meta protocol codec.
//! - [`client`]: the traced async memcached client (tokio), every call a
//!   `tracing` span following the OpenTelemetry database-client conventions.
//! - [`sqrt`]: exact arbitrary-precision square roots memoized in memcached.
//! - [`telemetry`]: one-call OpenTelemetry setup (Zipkin, OTLP) with a
//!   truthful flush at shutdown.
//! - [`collector`]: the embedded Zipkin-compatible trace collector and viewer.

pub use memcache_client as client;
pub use memcache_codec as codec;
pub use sqrt_memo as sqrt;
pub use trace_collector as collector;
pub use traced_telemetry as telemetry;
