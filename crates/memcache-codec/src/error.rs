//! The codec's typed errors.
//!
//! Messages never contain keys or values: they are user data, and errors end
//! up in logs and spans.

use thiserror::Error;

/// Why a key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error("key is empty")]
    Empty,
    #[error("key is {len} bytes long; memcached allows at most 250")]
    TooLong { len: usize },
    #[error("key has a space or control character at byte {position}")]
    InvalidByte { position: usize },
}

/// Why a request was not encoded. The output buffer is left untouched.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("invalid key: {0}")]
    Key(#[from] KeyError),
    #[error("value is {len} bytes; the limit is {limit}")]
    ValueTooLarge { len: usize, limit: usize },
    #[error("a retrieval command needs at least one key")]
    NoKeys,
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}

/// Why the response stream cannot be read further. After any of these the
/// connection is out of step with the server and must be dropped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("response line longer than {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("server announced a {len}-byte value; the limit is {limit}")]
    ValueTooLarge { len: u64, limit: usize },
    #[error("malformed response: {0}")]
    Malformed(&'static str),
}
