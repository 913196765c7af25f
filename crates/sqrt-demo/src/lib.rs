//! `sqrt-demo`: the seed's end-to-end example, in Rust, exact, and traced.
//!
//! Five huge numbers, each square-rooted twice through [`sqrt_memo::SqrtMemo`]
//! over the traced memcached client: round 1 misses and computes, round 2
//! hits; then the entry is deleted so a rerun behaves the same. The spans
//! form the seed's tree: a root span for the run, one
//! `CalculateSquareRoot-<number>` per number, `Round-1` and `Round-2` under
//! it, and the client's and the engine's own spans beneath.

pub mod numbers;
pub mod run;

pub use run::{format_line, run, RunConfig, ROOT_SPAN};
