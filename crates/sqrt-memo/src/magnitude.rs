//! An integer's magnitude as minimal little-endian bytes, and back.
//!
//! GMP's byte-wise export and import (`mpz_export`/`mpz_import` with one-byte
//! words, what `to_digits::<u8>` and `from_digits::<u8>` call) walk the
//! number a byte at a time: at a million digits they took most of a cache
//! hit. With whole 64-bit words in native order they are a copy, and the
//! bytes are laid out from the words here.

use rug::integer::Order;
use rug::Integer;

/// The magnitude of `n` as little-endian bytes without trailing zeros
/// (empty for zero).
pub(crate) fn to_le_bytes(n: &Integer) -> Vec<u8> {
    let words = n.to_digits::<u64>(Order::Lsf);
    let mut bytes = Vec::with_capacity(words.len() * 8);
    for word in &words {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

/// The non-negative integer whose little-endian bytes are `bytes`.
pub(crate) fn from_le_bytes(bytes: &[u8]) -> Integer {
    let words: Vec<u64> = bytes
        .chunks(8)
        .map(|chunk| {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            u64::from_le_bytes(word)
        })
        .collect();
    Integer::from_digits(&words, Order::Lsf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_gmp_byte_export_both_ways() {
        for n in [
            Integer::new(),
            Integer::from(1u32),
            Integer::from(255u32),
            Integer::from(256u32),
            Integer::from(u64::MAX),
            (Integer::from(1u32) << 64u32) + 1u32,
            Integer::from_str_radix(&"9".repeat(1000), 10).unwrap(),
        ] {
            let bytes = to_le_bytes(&n);
            assert_eq!(bytes, n.to_digits::<u8>(Order::Lsf), "{n}");
            assert_eq!(from_le_bytes(&bytes), n);
        }
    }
}
