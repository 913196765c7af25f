//! Cache keys: versioned, canonical per (number, digits) and short whatever
//! the number's size.
//!
//! `sqrt:v2:<digits>:<decimal>` while that fits memcached's 250-byte limit
//! with room left for a chunk suffix (numbers up to about 200 digits), else
//! `sqrt:v2:<digits>:h:<BLAKE3 hex of the number's magnitude>` (85 bytes at
//! most). The decimal is canonical (no sign, separators or leading zeros), so
//! every spelling of a number maps to one key; a float never appears.
//!
//! The hashed form digests the number's minimal little-endian unsigned bytes
//! (Python: `blake3(n.to_bytes((n.bit_length() + 7) // 8, "little"))`), not its
//! decimal text: converting a million-digit integer to decimal costs several
//! times computing its square root, which would make every hit dearer than a
//! miss. The `v1` names the key scheme and value format: bump it and old
//! entries are simply never read again.

use std::fmt;

use rug::Integer;

use crate::magnitude;
use crate::parse::CanonicalDecimal;

/// Everything before the digits count.
pub const KEY_PREFIX: &str = "sqrt:v2:";

/// memcached's key length limit (250 bytes), as the codec enforces it.
pub const MEMCACHED_MAX_KEY_LEN: usize = memcache_codec::MAX_KEY_LEN;

/// The longest suffix chunk keys add: `:` + 16 hex generation + `:` + u32.
pub const CHUNK_SUFFIX_MAX_LEN: usize = 1 + 16 + 1 + 10;

/// The longest main key written in the plain decimal form.
pub const MAX_PLAIN_KEY_LEN: usize = MEMCACHED_MAX_KEY_LEN - CHUNK_SUFFIX_MAX_LEN;

/// Numbers above this many bits have more than 308 digits, more than ever
/// fit a plain key, so they are hashed without looking at their decimal.
const PLAIN_CANDIDATE_BITS: u32 = 1024;

/// The memcached key of one (number, digits) result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemoKey(String);

impl MemoKey {
    /// The key for `sqrt(n)` to `digits` fractional digits; `None` for a
    /// negative `n`.
    pub fn for_integer(n: &Integer, digits: u32) -> Option<Self> {
        if *n < 0 {
            return None;
        }
        if n.significant_bits() <= PLAIN_CANDIDATE_BITS {
            if let Some(key) = plain(&n.to_string(), digits) {
                return Some(key);
            }
        }
        Some(hashed(n, digits))
    }

    /// The key for `sqrt(number)` to `digits` fractional digits (the same
    /// key [`MemoKey::for_integer`] gives for the same value).
    pub fn new(number: &CanonicalDecimal, digits: u32) -> Self {
        plain(number.as_str(), digits).unwrap_or_else(|| hashed(&number.to_integer(), digits))
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

/// The plain form, when the canonical decimal fits.
fn plain(decimal: &str, digits: u32) -> Option<MemoKey> {
    let mut key = format!("{KEY_PREFIX}{digits}:");
    // Canonical decimals are ASCII digits only, which memcached accepts;
    // the check keeps the rule explicit should the text ever change.
    let key_safe = decimal.bytes().all(|b| b.is_ascii_digit());
    if key_safe && key.len() + decimal.len() <= MAX_PLAIN_KEY_LEN {
        key.push_str(decimal);
        Some(MemoKey(key))
    } else {
        None
    }
}

/// The hashed form over the minimal little-endian magnitude bytes.
fn hashed(n: &Integer, digits: u32) -> MemoKey {
    let digest = magnitude::with_le_bytes(n, blake3::hash);
    MemoKey(format!("{KEY_PREFIX}{digits}:h:{}", hex(digest.as_bytes())))
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
    use rug::ops::Pow;

    fn key(text: &str, digits: u32) -> MemoKey {
        let from_text = MemoKey::new(&CanonicalDecimal::parse(text).unwrap(), digits);
        let n = CanonicalDecimal::parse(text).unwrap().to_integer();
        assert_eq!(MemoKey::for_integer(&n, digits).unwrap(), from_text);
        from_text
    }

    #[test]
    fn small_numbers_are_spelled_out_and_canonical() {
        assert_eq!(key("144", 10).as_str(), "sqrt:v2:10:144");
        assert_eq!(key("0", 0).as_str(), "sqrt:v2:0:0");
        assert_eq!(key(" +000_144 ", 10), key("144", 10));
        assert_ne!(key("144", 10), key("144", 11));
        assert!(!key("144", 10).is_hashed());
        assert!(MemoKey::for_integer(&Integer::from(-1), 0).is_none());
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
        let room = MAX_PLAIN_KEY_LEN - "sqrt:v2:7:".len();
        let fits = format!("1{}", "0".repeat(room - 1));
        let too_long = format!("1{}", "0".repeat(room));
        assert!(!key(&fits, 7).is_hashed());
        assert_eq!(key(&fits, 7).as_str().len(), MAX_PLAIN_KEY_LEN);
        assert!(key(&too_long, 7).is_hashed());
        let longest = key(&fits, 7);
        assert!(longest.chunk_key(u64::MAX, u32::MAX).len() <= MEMCACHED_MAX_KEY_LEN);
    }

    #[test]
    fn hash_matches_python_blake3_over_little_endian_bytes() {
        // blake3.blake3(n.to_bytes((n.bit_length() + 7) // 8, "little")).hexdigest()
        // (Python's `blake3` package)
        let power = Integer::from(10u32).pow(300);
        let k = key(&format!("+000{power}"), 0);
        let expected = "5390c7e38e58af440fb86848def4d4a2eb61a1ebb16a73f0de44a36a6b41b3b7";
        assert_eq!(k.as_str(), format!("sqrt:v2:0:h:{expected}"));
        assert_eq!(
            k.chunk_key(0xab, 3),
            format!("sqrt:v2:0:h:{expected}:00000000000000ab:3")
        );
        let mersenne = (Integer::from(1u32) << 1100u32) - 1u32;
        assert_eq!(
            MemoKey::for_integer(&mersenne, 5).unwrap().as_str(),
            "sqrt:v2:5:h:6a077d54e38af7a62f39fec964f7df3e7f332cd0af2cc720a8d37eb7d4f6fd65"
        );
    }
}
