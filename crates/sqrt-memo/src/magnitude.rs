//! An integer's magnitude as minimal little-endian bytes, and back.
//!
//! GMP's byte-wise export and import (`mpz_export`/`mpz_import` with one-byte
//! words, what `to_digits::<u8>` and `from_digits::<u8>` call) walk the
//! number a byte at a time: at a million digits they took most of a cache
//! hit. With whole 64-bit words in native order they are a copy, and the
//! bytes are the words' memory, exported little-endian.

use rug::integer::Order;
use rug::Integer;

/// Hands `f` the magnitude of `n` as little-endian bytes without trailing
/// zeros (empty for zero). The words are exported little-endian on every
/// target, so their memory already is those bytes: no second copy.
pub(crate) fn with_le_bytes<R>(n: &Integer, f: impl FnOnce(&[u8]) -> R) -> R {
    let words = n.to_digits::<u64>(Order::LsfLe);
    let bytes: &[u8] = bytemuck::cast_slice(&words);
    let significant = bytes.len() - bytes.iter().rev().take_while(|&&b| b == 0).count();
    f(&bytes[..significant])
}

/// The non-negative integer whose little-endian bytes are `bytes`.
pub(crate) fn from_le_bytes(bytes: &[u8]) -> Integer {
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
    Integer::from_digits(&words, Order::LsfLe)
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
            let bytes = with_le_bytes(&n, <[u8]>::to_vec);
            assert_eq!(bytes, n.to_digits::<u8>(Order::Lsf), "{n}");
            assert_eq!(from_le_bytes(&bytes), n);
        }
    }
}
