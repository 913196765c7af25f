//! Bob Jenkins' one-at-a-time hash as libmemcached computes it: its
//! `MEMCACHED_HASH_DEFAULT`, the key and point hash of
//! `MEMCACHED_BEHAVIOR_KETAMA`.

/// libmemcached's default hash (`hashkit_one_at_a_time`). libmemcached
/// reads each byte through a `char`, which is signed on x86 and most
/// other targets: a byte of 0x80 or more is added sign-extended
/// (`0xffff_ff80` for 0x80). This does the same on every target, so keys
/// with such bytes are placed as libmemcached on x86 places them.
pub fn one_at_a_time(bytes: &[u8]) -> u32 {
    let mut hash = 0u32;
    for &b in bytes {
        hash = hash.wrapping_add(b as i8 as i32 as u32);
        hash = hash.wrapping_add(hash << 10);
        hash ^= hash >> 6;
    }
    hash = hash.wrapping_add(hash << 3);
    hash ^= hash >> 11;
    hash.wrapping_add(hash << 15)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from libmemcached 1.1.4 (`memcached_generate_hash_value` with
    /// `MEMCACHED_HASH_DEFAULT`).
    #[test]
    fn matches_libmemcached() {
        assert_eq!(one_at_a_time(b""), 0);
        assert_eq!(one_at_a_time(b"a"), 3_392_050_242);
        assert_eq!(one_at_a_time(b"key-0"), 3_974_405_836);
        assert_eq!(one_at_a_time(&[0x80, 0xff]), 13_776_397);
    }
}
