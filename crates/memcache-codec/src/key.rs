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
    // Every key of every call passes here: the check is branch-free over
    // the whole key, so it vectorises (an early-exit `position` looks at one
    // byte per iteration); the position is only searched for a bad key.
    let bad = key.iter().fold(0u8, |bad, &b| {
        bad | u8::from(b <= b' ') | u8::from(b == 0x7f)
    });
    if bad == 0 {
        return Ok(());
    }
    let position = key
        .iter()
        .position(|&b| b <= b' ' || b == 0x7f)
        .unwrap_or_default();
    Err(KeyError::InvalidByte { position })
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
