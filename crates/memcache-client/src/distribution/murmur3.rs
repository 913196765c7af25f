//! MurmurHash3 x86_32, the hash pymemcache's rendezvous hashing uses.
//!
//! Written from the public-domain algorithm description; checked against
//! the reference test vectors below.

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// MurmurHash3 (x86, 32-bit) of the concatenation of `parts`, so callers can
/// hash `node-key` without building the string.
pub fn murmur3_32(parts: &[&[u8]], seed: u32) -> u32 {
    let mut h = seed;
    let mut len = 0usize;
    let mut block = [0u8; 4];
    let mut filled = 0usize;
    for part in parts {
        len += part.len();
        for &b in *part {
            block[filled] = b;
            filled += 1;
            if filled == 4 {
                h ^= mix_k(u32::from_le_bytes(block));
                h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
                filled = 0;
            }
        }
    }
    if filled > 0 {
        let mut k = 0u32;
        for (i, &b) in block[..filled].iter().enumerate() {
            k |= u32::from(b) << (8 * i);
        }
        h ^= mix_k(k);
    }
    // The length is mixed in modulo 2^32, as the reference does.
    h ^= len as u32;
    fmix(h)
}

fn mix_k(k: u32) -> u32 {
    k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

fn fmix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_vectors() {
        assert_eq!(murmur3_32(&[b""], 0), 0);
        assert_eq!(murmur3_32(&[b""], 1), 0x514e_28b7);
        assert_eq!(murmur3_32(&[b"hello"], 0), 0x248b_fa47);
        assert_eq!(murmur3_32(&[b"hello, world"], 0), 0x149b_bb7f);
        assert_eq!(
            murmur3_32(&[b"The quick brown fox jumps over the lazy dog"], 0),
            0x2e4f_f723
        );
    }

    #[test]
    fn parts_hash_like_their_concatenation() {
        let whole = murmur3_32(&[b"127.0.0.1:11211-user:42"], 0);
        assert_eq!(
            murmur3_32(&[b"127.0.0.1:11211", b"-", b"user:42"], 0),
            whole
        );
        assert_eq!(
            murmur3_32(&[b"1", b"27.0.0.1:11211-u", b"ser:42"], 0),
            whole
        );
    }
}
