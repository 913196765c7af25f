//! Typed errors: bad input text, unusable stored bytes, and memcached failures.

use thiserror::Error;

/// Why a piece of text is not a non-negative decimal integer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// Nothing but whitespace (or nothing at all).
    #[error("empty input: expected a non-negative decimal integer")]
    Empty,
    /// A leading `-` on a non-zero number: real square roots need `n >= 0`.
    #[error("negative number: the square root is not real")]
    Negative,
    /// A byte that is neither a decimal digit nor a `_` separator.
    #[error("invalid character at byte {position}: expected decimal digits")]
    InvalidCharacter {
        /// Byte offset in the trimmed text.
        position: usize,
    },
    /// Separators misplaced: leading, trailing or doubled `_`, or a sign only.
    #[error("malformed number: {0}")]
    Malformed(&'static str),
    /// More digits than the limits allow.
    #[error("the number has more than {limit} digits")]
    TooLong {
        /// The configured limit on decimal digits.
        limit: usize,
    },
}

/// Why an integer cannot have a real square root.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ArithmeticError {
    /// `n < 0`.
    #[error("negative number: the square root is not real")]
    Negative,
    /// More fractional digits asked for than the limits allow.
    #[error("{requested} fractional digits requested; the limit is {limit}")]
    TooManyDigits {
        /// Digits asked for.
        requested: u64,
        /// The configured limit.
        limit: u32,
    },
    /// The number is larger than the limits allow.
    #[error("the number has about {bits} bits; the limit is {limit} bits")]
    NumberTooLarge {
        /// Its size.
        bits: u64,
        /// The configured limit.
        limit: u64,
    },
}

/// Why stored bytes were not accepted as a cached result.
///
/// Never surfaced to callers as a failure: a rejected value is a miss that is
/// recorded on the span and overwritten.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormatError {
    /// Shorter than the fixed header or than the lengths it announces.
    #[error("truncated value: {0}")]
    Truncated(&'static str),
    /// Not written by this crate (wrong magic).
    #[error("foreign value: bad magic")]
    BadMagic,
    /// Written by an unknown format version.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u8),
    /// A kind byte this version does not define.
    #[error("unknown value kind {0}")]
    UnknownKind(u8),
    /// The checksum over the payload does not match.
    #[error("checksum mismatch")]
    ChecksumMismatch,
    /// Internally inconsistent (extra bytes, wrong digits count, ...).
    #[error("inconsistent value: {0}")]
    Inconsistent(&'static str),
    /// Bound to another key: a value for another number or digit count.
    #[error("value belongs to another number or digit count")]
    ForeignBinding,
    /// The tag does not match the configured secret: not written by a
    /// holder of the secret (forged, or written without it).
    #[error("value not authenticated by the configured secret")]
    BadTag,
    /// Longer than the configuration ever writes.
    #[error("value larger than the configured maximum")]
    TooLarge,
}

/// A memcached operation failed (connection, protocol or server error).
#[derive(Debug, Error)]
#[error("memcached {operation} failed: {message}")]
pub struct StoreError {
    /// Which operation (`meta get`, `meta set`, ...).
    pub operation: &'static str,
    /// What went wrong; never contains keys or values.
    pub message: String,
}

impl StoreError {
    /// A failure of `operation` described by `message`.
    pub fn new(operation: &'static str, message: impl Into<String>) -> Self {
        StoreError {
            operation,
            message: message.into(),
        }
    }
}

/// Why [`crate::SqrtMemo`] could not produce a root.
#[derive(Debug, Error)]
pub enum MemoError {
    /// The input is not a non-negative integer.
    #[error(transparent)]
    Arithmetic(#[from] ArithmeticError),
    /// The input text is not a non-negative decimal integer.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// memcached failed and the configuration says not to fall back to
    /// computing without the cache.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking computation task panicked or was cancelled.
    #[error("square root computation did not finish: {0}")]
    ComputeTask(String),
}
