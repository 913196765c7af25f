//! The codec's typed errors.
//!
//! Messages never contain keys or values: they are user data, and errors end
//! up in logs and spans.

use thiserror::Error;

/// Why a key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The key has no bytes.
    #[error("key is empty")]
    Empty,
    #[error("key is {len} bytes long; memcached allows at most 250")]
    /// The key is longer than memcached's 250 bytes.
    TooLong {
        /// The key's length.
        len: usize,
    },
    #[error("key has a space or control character at byte {position}")]
    /// The key has a byte the text protocol cannot carry.
    InvalidByte {
        /// Where the first such byte is.
        position: usize,
    },
}

/// Why a request was not encoded. The output buffer is left untouched.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A key was refused.
    #[error("invalid key: {0}")]
    Key(#[from] KeyError),
    #[error("value is {len} bytes; the limit is {limit}")]
    /// The value is longer than [`crate::Limits::max_value_len`].
    ValueTooLarge {
        /// The value's length.
        len: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// A retrieval command was given no key.
    #[error("a retrieval command needs at least one key")]
    NoKeys,
    /// Another argument the protocol cannot carry.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}

/// Why the response stream cannot be read further. After any of these the
/// connection is out of step with the server and must be dropped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("response line longer than {limit} bytes")]
    /// A line did not end within the limit.
    LineTooLong {
        /// The limit it broke.
        limit: usize,
    },
    #[error("server announced a {len}-byte value; the limit is {limit}")]
    /// The server announced a value over the limit.
    ValueTooLarge {
        /// The announced length.
        len: u64,
        /// The limit it broke.
        limit: usize,
    },
    /// Bytes that are no memcached reply.
    #[error("malformed response: {0}")]
    Malformed(&'static str),
}
