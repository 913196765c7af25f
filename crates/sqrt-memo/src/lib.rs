//! x
pub mod arith;
pub mod error;
pub mod key;
pub mod parse;
pub mod trace_context;
pub mod value;
pub use key::MemoKey;
