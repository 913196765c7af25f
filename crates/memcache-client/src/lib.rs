//! `memcache-client`: a traced async memcached client on tokio.
//!
//! - Every command of the text and meta protocols as a typed async method
//!   ([`Client::get`], [`Client::set`], [`Client::get_many`], [`Client::cas`],
//!   [`Client::meta_get`], [`Client::meta_pipeline`], ...). A miss is
//!   `Ok(None)`; `NOT_STORED`/`EXISTS`/`NOT_FOUND` are outcomes
//!   ([`StoreOutcome`], [`DeleteOutcome`], [`TouchOutcome`]), not errors.
//! - Every public call runs in a `tracing` span following OpenTelemetry's
//!   database client conventions (see [`trace`]), so `tracing-opentelemetry`
//!   exports it as a client span. Keys are recorded only when
//!   [`ClientConfig::record_keys`] is on; values never.
//! - Bounded per-server connection pools over TCP (IPv4/IPv6) or Unix
//!   sockets, connect and operation timeouts; a connection whose exchange
//!   timed out, failed or was cancelled is discarded, never reused. Or,
//!   with [`ConnectionMode::Multiplexed`], connections that each carry many
//!   concurrent calls, pipelined, with replies matched in order: several
//!   times fewer system calls under concurrent load.
//! - Several servers with libmemcached-compatible ketama (weighted, or
//!   unweighted as pylibmc's `{"ketama": True}`) or pymemcache-compatible
//!   rendezvous hashing, dead-server detection and optional failover.
//! - Typed values ([`Client::get_as`], [`Client::set_as`]): strings, bytes
//!   and integers with pymemcache's flags, so Python and Rust programs
//!   share a cache; any serde type as JSON or MessagePack (feature
//!   `serde`). Configuration from a URL ([`Client::connect`],
//!   [`ClientConfig::from_url`]): `memcache://a:11211,b:11211?timeout=250ms`.
//!
//! ```no_run
//! use std::time::Duration;
//! use memcache_client::{Client, Expiry, StoreOptions, StoreOutcome};
//!
//! # async fn demo() -> Result<(), memcache_client::Error> {
//! let client = Client::builder()
//!     .server("127.0.0.1:11211")
//!     .operation_timeout(Duration::from_millis(500))
//!     .build()?;
//!
//! let options = StoreOptions::default().expiry(Expiry::After(Duration::from_secs(60)));
//! assert_eq!(client.set("greeting", "hello", options).await?, StoreOutcome::Stored);
//! let item = client.get("greeting").await?.expect("just stored");
//! assert_eq!(&item.value[..], b"hello");
//! assert!(client.get("absent").await?.is_none());
//!
//! let many = client.get_many(&["greeting", "absent"]).await?;
//! assert_eq!(many.len(), 1);
//! # Ok(()) }
//! ```

mod auth;
mod builder;
mod client;
mod config;
mod conn;
mod distribution;
mod error;
mod exchange;
mod expiry;
#[doc(hidden)]
pub mod fuzzing;
mod hits;
mod join;
#[cfg(feature = "metrics")]
mod metrics;
#[cfg(not(feature = "metrics"))]
#[path = "metrics_off.rs"]
mod metrics;
mod mux;
mod operation;
mod outcome;
mod policy;
mod pool;
mod read;
mod reply;
mod reply_shape;
mod server;
mod setup;
#[cfg(feature = "tls")]
mod tls;
pub mod trace;
mod typed;
mod url;
mod vectored;

pub use auth::Credentials;
pub use builder::ClientBuilder;
pub use client::{Client, MetaRequest};
pub use config::{
    ClientConfig, ConnectionMode, Distribution, Failover, ServerAddr, ServerConfig, DEFAULT_PORT,
};
pub use distribution::{murmur3_32, one_at_a_time, Ketama, Rendezvous};
pub use error::{Error, Result};
pub use expiry::{Expiry, MAX_RELATIVE_EXPTIME};
pub use outcome::{
    DeleteOutcome, Item, ItemHasher, ItemMap, StoreOptions, StoreOutcome, TouchOutcome,
};
#[cfg(feature = "tls")]
pub use tls::TlsConfig;
pub use typed::{flags, Encoded, FromValue, ToValue, ValueError};
#[cfg(feature = "serde")]
pub use typed::{Json, MsgPack};
pub use url::UrlError;

pub use memcache_codec::MAX_KEY_LEN;
/// The codec types that appear in this crate's API (meta flags and replies,
/// limits).
pub use memcache_codec::{
    ArithmeticMode, KeyError, Limits, MetaArithmeticFlags, MetaDeleteFlags, MetaGetFlags,
    MetaResponse, MetaReturnFlags, MetaSetFlags, MetaSetMode, MetaStatus,
};
