//! Cache keys: versioned, canonical per (number, digits) and short whatever
//! the number's size.
//!
//! `sqrt:v1:<digits>:<decimal>` while that fits memcached's 250-byte limit
//! with room left for a chunk suffix, else
//! `sqrt:v1:<digits>:h:<sha256 hex of the canonical decimal>` (85 bytes at
//! most). The canonical decimal has no sign, separators or leading zeros, so
//! every spelling of a number maps to one key; a float never appears. The
//! `v1` names the key scheme and value format: bump it and old entries are
//! simply never read again.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::parse::CanonicalDecimal;

/// Everything before the digits count.
pub const KEY_PREFIX: &str = "sqrt:v1:";

/// memcached's key length limit.
pub const MEMCACHED_MAX_KEY_LEN: usize = 250;

/// The longest suffix chunk keys add: `:` + 16 hex generation + `:` + u32.
pub const CHUNK_SUFFIX_MAX_LEN: usize = 1 + 16 + 1 + 10;

/// The longest main key written in the plain decimal form.
pub const MAX_PLAIN_KEY_LEN: usize = MEMCACHED_MAX_KEY_LEN - CHUNK_SUFFIX_MAX_LEN;

/// The memcached key of one (number, digits) result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemoKey(String);

impl MemoKey {
    /// The key for `sqrt(number)` to `digits` fractional digits.
    pub fn new(number: &CanonicalDecimal, digits: u32) -> Self {
        let decimal = number.as_str();
        let mut key = format!("{KEY_PREFIX}{digits}:");
        // Canonical decimals are ASCII digits only, which memcached accepts;
        // the check keeps the rule explicit should the text ever change.
        let key_safe = decimal.bytes().all(|b| b.is_ascii_digit());
        if key_safe && key.len() + decimal.len() <= MAX_PLAIN_KEY_LEN {
            key.push_str(decimal);
        } else {
            key.push_str("h:");
            key.push_str(&hex(&Sha256::digest(decimal.as_bytes())));
        }
        MemoKey(key)
    }

    /// The key text (ASCII, at most [`MAX_PLAIN_KEY_LEN`] bytes).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the number is named by its hash rather than its digits.
    pub fn is_hashed(&self) -> bool {
        self.0[KEY_PREFIX.len()..].contains(":h:")
    }

    /// The key of chunk `index` of write `generation` of a chunked value.
    pub fn chunk_key(&self, generation: u64, index: u32) -> String {
        format!("{}:{generation:016x}:{index}", self.0)
    }
}

impl fmt::Display for MemoKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str, digits: u32) -> MemoKey {
        MemoKey::new(&CanonicalDecimal::parse(text).unwrap(), digits)
    }

    #[test]
    fn small_numbers_are_spelled_out_and_canonical() {
        assert_eq!(key("144", 10).as_str(), "sqrt:v1:10:144");
        assert_eq!(key(" +000_144 ", 10), key("144", 10));
        assert_ne!(key("144", 10), key("144", 11));
        assert!(!key("144", 10).is_hashed());
    }

    #[test]
    fn large_numbers_are_hashed_and_short() {
        let big = "9".repeat(10_000);
        let k = key(&big, 4_000_000_000);
        assert!(k.is_hashed());
        assert_eq!(
            k.as_str().len(),
            KEY_PREFIX.len() + "4000000000".len() + ":h:".len() + 64
        );
        // The chunk keys of the longest key still fit memcached's limit.
        assert!(k.chunk_key(u64::MAX, u32::MAX).len() <= MEMCACHED_MAX_KEY_LEN);
    }

    #[test]
    fn plain_form_stops_exactly_at_the_limit() {
        let room = MAX_PLAIN_KEY_LEN - "sqrt:v1:7:".len();
        let fits = format!("1{}", "0".repeat(room - 1));
        let too_long = format!("1{}", "0".repeat(room));
        assert!(!key(&fits, 7).is_hashed());
        assert_eq!(key(&fits, 7).as_str().len(), MAX_PLAIN_KEY_LEN);
        assert!(key(&too_long, 7).is_hashed());
        let longest = key(&fits, 7);
        assert!(longest.chunk_key(u64::MAX, u32::MAX).len() <= MEMCACHED_MAX_KEY_LEN);
    }

    #[test]
    fn hash_is_sha256_of_the_canonical_decimal() {
        let big = format!("1{}", "0".repeat(300));
        let k = key(&format!("+000{big}"), 0);
        let expected = hex(&Sha256::digest(big.as_bytes()));
        assert_eq!(k.as_str(), format!("sqrt:v1:0:h:{expected}"));
        assert_eq!(
            k.chunk_key(0xab, 3),
            format!("sqrt:v1:0:h:{expected}:00000000000000ab:3")
        );
    }
}
