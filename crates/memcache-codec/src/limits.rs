//! Size limits shared by the encoder and the decoder.

/// Bounds on what the codec will write or buffer.
///
/// The defaults follow memcached's own: 1 MiB items (`-I 1m`). A client
/// talking to a server started with a larger `-I` raises `max_value_len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest value accepted in a request or a response, in bytes.
    pub max_value_len: usize,
    /// Longest response line (without its data block) the decoder will buffer
    /// while looking for `\r\n`.
    pub max_line_len: usize,
}

impl Limits {
    /// memcached's default item size limit.
    pub const DEFAULT_MAX_VALUE_LEN: usize = 1024 * 1024;
    /// Generous for any real response line (a meta reply with every flag and
    /// a 250-byte base64 key is well under 1 KiB), small enough to bound memory.
    pub const DEFAULT_MAX_LINE_LEN: usize = 8 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_value_len: Self::DEFAULT_MAX_VALUE_LEN,
            max_line_len: Self::DEFAULT_MAX_LINE_LEN,
        }
    }
}
