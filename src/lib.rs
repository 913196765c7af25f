//! `traced-memcache`: the umbrella crate of the workspace.
//!
//! It re-exports the workspace's crates so an application can depend on one
//! package, and it hosts the top-level `examples/` and `benches/`. Each crate
//! can also be used on its own:
//!
//! - [`codec`]: the sans-IO memcached text and meta protocol codec.

pub use memcache_codec as codec;
