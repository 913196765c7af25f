//! `sqrt-memo`: exact arbitrary-precision square roots, memoized in memcached.
//!
//! The demo application of the workspace (the Rust counterpart of the traced
//! pymemcache example that cached `math.sqrt` of huge numbers as floats):
//!
//! * [`isqrt_rem`] and [`sqrt_decimal`] are pure, exact GMP arithmetic: every
//!   printed digit is a true digit (the expansion is truncated, not rounded).
//! * [`SqrtMemo`] memoizes results in memcached through the small
//!   [`MemoStore`] trait: canonical versioned keys ([`MemoKey`]), a checked
//!   binary value format ([`value`]), chunking of values above the item size
//!   limit, and distributed single flight with the meta protocol's vivify /
//!   win / already-won flags, so one process computes while the others wait.
//! * Every step is a `tracing` span (`sqrt.lookup`, `sqrt.verify`,
//!   `sqrt.compute`, `sqrt.store`); a hit links to the span that computed the
//!   value (feature `otel`).
//!
//! ```
//! use sqrt_memo::{isqrt_rem, parse_integer, sqrt_decimal};
//!
//! let n = parse_integer(" +2 ").unwrap();
//! // Truncated, not rounded: sqrt(2) = 1.41421356237...
//! assert_eq!(sqrt_decimal(&n, 10).unwrap().to_string(), "1.4142135623");
//! let r = isqrt_rem(&parse_integer("1_000_001").unwrap()).unwrap();
//! assert_eq!(r.root, 1000);
//! assert_eq!(r.remainder, 1);
//! ```
//!
//! With memcached (any [`MemoStore`]; `memcache_client::Client` is one):
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use sqrt_memo::{MemoConfig, SqrtMemo};
//!
//! let client = memcache_client::Client::connect("127.0.0.1:11211")?;
//! let memo = SqrtMemo::new(client, MemoConfig::default());
//! let outcome = memo.sqrt_text("9082782799999992727727272727", 10).await?;
//! println!("{} ({})", outcome.root, outcome.source.as_str());
//! # Ok(()) }
//! ```

pub mod arith;
pub mod certificate;
mod chunk;
#[cfg(feature = "memcache")]
pub mod client_store;
pub mod config;
mod engine;
pub mod error;
pub mod key;
pub mod limits;
mod magnitude;
mod metrics;
mod near_cache;
pub mod parse;
mod rejection;
pub mod secret;
mod stats;
pub mod store;
pub mod trace_context;
pub mod value;

pub use arith::{
    check_limits, decimal_digit_count, isqrt_rem, sqrt_decimal, sqrt_decimal_rem_within,
    sqrt_decimal_within, DecimalRoot, ExactSqrt, IsqrtRem,
};
pub use config::{MemoConfig, NearCacheConfig, DEFAULT_MAX_ITEM_SIZE};
pub use engine::{Source, SqrtMemo, SqrtOutcome};
pub use error::{ArithmeticError, FormatError, MemoError, ParseError, StoreError};
pub use key::MemoKey;
pub use limits::Limits;
pub use parse::{parse_integer, CanonicalDecimal};
pub use secret::{MemoSecret, SECRET_VARIABLE};
pub use stats::MemoStats;
pub use store::{MemoStore, MetaItem, SetStatus};
pub use trace_context::TraceContext;
