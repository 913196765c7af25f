//! `traced-memcache`: the umbrella crate of the workspace.
//!
//! It re-exports the workspace's crates so an application can depend on one
//! package, and it hosts the top-level `examples/` and `benches/`. Each
//! module is behind the feature of the same name (default: `codec` and
//! `client`), and each crate can also be used on its own:
//!
//! - [`codec`] (feature `codec`): the sans-IO memcached text and meta
//!   protocol codec.
//! - [`client`] (feature `client`): the traced async memcached client
//!   (tokio), every call a `tracing` span following the OpenTelemetry
//!   database-client conventions.
//! - `sqrt` (feature `sqrt`): exact arbitrary-precision square roots
//!   memoized in memcached (links the system GMP).
//! - `telemetry` (feature `telemetry`): one-call OpenTelemetry setup
//!   (Zipkin, OTLP) with a truthful flush at shutdown.
//! - `collector` (feature `collector`): the embedded Zipkin-compatible trace
//!   collector and viewer.

#[cfg(feature = "client")]
pub use memcache_client as client;
#[cfg(feature = "codec")]
pub use memcache_codec as codec;
#[cfg(feature = "sqrt")]
pub use sqrt_memo as sqrt;
#[cfg(feature = "collector")]
pub use trace_collector as collector;
#[cfg(feature = "telemetry")]
pub use traced_telemetry as telemetry;
