//! Key validation: the one check that keeps user input from becoming
//! protocol (a key such as `a\r\nflush_all` must never reach the wire).

use crate::KeyError;

/// memcached's key length limit in bytes.
pub const MAX_KEY_LEN: usize = 250;

/// Accepts 1..=250 bytes with no ASCII whitespace or control characters.
///
/// Bytes >= 0x80 are accepted, as memcached does: UTF-8 keys are fine.
/// (0x7f, DEL, is a control character and refused.)
pub fn validate_key(key: &[u8]) -> Result<(), KeyError> {
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    if key.len() > MAX_KEY_LEN {
        return Err(KeyError::TooLong { len: key.len() });
    }
    // Every key of every call passes here: the check looks at eight bytes
    // at a time (keys are mostly 10 to 40 bytes, too short for the
    // vectorised loop a byte-wise check compiles to to pay off); the
    // position is only searched for a bad key.
    if !has_bad_byte(key) {
        return Ok(());
    }
    let position = key
        .iter()
        .position(|&b| b <= b' ' || b == 0x7f)
        .unwrap_or_default();
    Err(KeyError::InvalidByte { position })
}

/// Whether any byte of `key` is ASCII whitespace, a control character or
/// DEL.
fn has_bad_byte(key: &[u8]) -> bool {
    let mut chunks = key.chunks_exact(8);
    let mut bad = 0;
    for chunk in &mut chunks {
        bad |= bad_bytes(word(chunk));
    }
    let rest = chunks.remainder();
    if rest.is_empty() {
        return bad != 0;
    }
    if key.len() >= 8 {
        // The last eight bytes: the overlap was checked already, harmlessly.
        return bad | bad_bytes(word(&key[key.len() - 8..])) != 0;
    }
    rest.iter().any(|&b| b <= b' ' || b == 0x7f)
}

/// Eight bytes as a little-endian word.
#[inline]
fn word(bytes: &[u8]) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(bytes);
    u64::from_le_bytes(word)
}

/// Non-zero when some byte of `x` is <= `' '` or DEL (0x7f). Bytes >= 0x80
/// never count. A subtraction borrows out of a byte only when that byte
/// itself is flagged, so whether any byte is flagged is always exact.
#[inline]
fn bad_bytes(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low = x.wrapping_sub(ONES * 0x21) & !x;
    let del = x ^ (ONES * 0x7f);
    let del = del.wrapping_sub(ONES) & !del;
    (low | del) & HIGH
}

/// Validates a token of the text protocol that is not a key (a `stats`
/// argument): same character rules, no length limit beyond the line's.
pub(crate) fn is_token(arg: &[u8]) -> bool {
    !arg.is_empty() && arg.iter().all(|&b| b > b' ' && b != 0x7f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_and_utf8_keys() {
        assert_eq!(validate_key(b"user:42"), Ok(()));
        assert_eq!(validate_key("clé-ünïcode".as_bytes()), Ok(()));
        assert_eq!(validate_key(&[b'k'; 250]), Ok(()));
    }

    #[test]
    fn every_byte_at_every_position_is_judged_as_byte_by_byte() {
        for len in 1..=40 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut key = vec![b'k'; len];
                    key[at] = b;
                    let bad = b <= b' ' || b == 0x7f;
                    let expected = match bad {
                        true => Err(KeyError::InvalidByte { position: at }),
                        false => Ok(()),
                    };
                    assert_eq!(validate_key(&key), expected, "{key:?}");
                }
            }
        }
        // Two bad bytes: the first is reported.
        assert_eq!(
            validate_key(b"0123456789\x7f12345\0"),
            Err(KeyError::InvalidByte { position: 10 })
        );
        // High bytes next to the limits of the bad range.
        assert_eq!(
            validate_key(&[0x80, 0x21, 0xff, 0x7e, 0xa0, 0x81, 0x21, 0x80, 0xff]),
            Ok(())
        );
    }

    /// Mostly allowed bytes (high ones included), sometimes a bad one.
    fn key_byte() -> impl proptest::strategy::Strategy<Value = u8> {
        use proptest::prelude::*;
        prop_oneof![
            8 => 0x21u8..0x7f,
            8 => 0x80u8..=0xff,
            1 => any::<u8>(),
        ]
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_a_byte_by_byte_check(
            key in proptest::collection::vec(key_byte(), 1..=MAX_KEY_LEN),
        ) {
            let expected = match key.iter().position(|&b| b <= b' ' || b == 0x7f) {
                Some(position) => Err(KeyError::InvalidByte { position }),
                None => Ok(()),
            };
            proptest::prop_assert_eq!(validate_key(&key), expected);
        }
    }

    #[test]
    fn refuses_bad_keys_with_the_reason() {
        assert_eq!(validate_key(b""), Err(KeyError::Empty));
        assert_eq!(
            validate_key(&[b'k'; 251]),
            Err(KeyError::TooLong { len: 251 })
        );
        assert_eq!(
            validate_key(b"a\r\nflush_all"),
            Err(KeyError::InvalidByte { position: 1 })
        );
        assert_eq!(
            validate_key(b"a b"),
            Err(KeyError::InvalidByte { position: 1 })
        );
        assert_eq!(
            validate_key(b"nul\0"),
            Err(KeyError::InvalidByte { position: 3 })
        );
        assert_eq!(
            validate_key(b"tab\t"),
            Err(KeyError::InvalidByte { position: 3 })
        );
        assert_eq!(
            validate_key(b"del\x7f"),
            Err(KeyError::InvalidByte { position: 3 })
        );
    }
}
