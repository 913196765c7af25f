//! memcache-client (work in progress)
pub mod config;
pub mod distribution;
pub mod error;
pub mod expiry;
pub use config::{ClientConfig, Distribution, Failover, ServerAddr, ServerConfig};
pub use error::{Error, Result};
pub use expiry::Expiry;
