//! Strings, byte buffers and integers with the flags of pymemcache's
//! default serde, so Python and Rust programs share a cache.

use std::borrow::Cow;

use bytes::Bytes;

use super::{Encoded, FromValue, ToValue, ValueError};

/// The client flags values are stored with.
///
/// `BYTES`, `PICKLE`, `INTEGER`, `LONG`, `COMPRESSED` and `TEXT` are
/// pymemcache's (`pymemcache.serde`, 4.0) and python-memcached's; `JSON`
/// and `MSGPACK` (feature `serde`) use bits pymemcache leaves alone, so
/// its default deserializer hands such values to Python as raw `bytes`
/// (ready for `json.loads` or `msgpack.unpackb`).
pub mod flags {
    /// Raw bytes (Python `bytes`).
    pub const BYTES: u32 = 0;
    /// A Python pickle; not read by this client.
    pub const PICKLE: u32 = 1 << 0;
    /// A decimal integer (Python `int`).
    pub const INTEGER: u32 = 1 << 1;
    /// A decimal integer (python-memcached's `long`), read like `INTEGER`.
    pub const LONG: u32 = 1 << 2;
    /// zlib-compressed (pymemcache's `CompressedSerde`); not read by this
    /// client.
    pub const COMPRESSED: u32 = 1 << 3;
    /// UTF-8 text (Python `str`).
    pub const TEXT: u32 = 1 << 4;
    /// JSON (`Json`, feature `serde`).
    pub const JSON: u32 = 1 << 5;
    /// MessagePack with named fields (`MsgPack`, feature `serde`).
    pub const MSGPACK: u32 = 1 << 6;

    /// What stored flags mean, for error messages.
    pub(crate) fn describe(flags: u32) -> &'static str {
        match flags {
            BYTES => "bytes",
            PICKLE => "a Python pickle",
            INTEGER | LONG => "an integer",
            TEXT => "text",
            JSON => "JSON",
            MSGPACK => "MessagePack",
            f if f & COMPRESSED != 0 => "compressed",
            _ => "unknown to this client",
        }
    }

    /// `flags 2 or 4`-style list for error messages.
    pub(crate) fn list(accepted: &[u32]) -> String {
        let all: Vec<String> = accepted.iter().map(u32::to_string).collect();
        format!("flags {}", all.join(" or "))
    }
}

const BYTES_FLAGS: &[u32] = &[flags::BYTES];
const TEXT_FLAGS: &[u32] = &[flags::TEXT];
const INTEGER_FLAGS: &[u32] = &[flags::INTEGER, flags::LONG];

fn bytes_value(bytes: &[u8]) -> Result<Encoded<'_>, ValueError> {
    Ok(Encoded {
        bytes: Cow::Borrowed(bytes),
        flags: flags::BYTES,
    })
}

fn text_value(text: &str) -> Result<Encoded<'_>, ValueError> {
    Ok(Encoded {
        bytes: Cow::Borrowed(text.as_bytes()),
        flags: flags::TEXT,
    })
}

/// Byte buffers are stored as they are (Python `bytes`), text as UTF-8
/// (Python `str`).
macro_rules! stored_as {
    ($encode:ident: $($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Result<Encoded<'_>, ValueError> {
                $encode(self)
            }
        }
    )*};
}

stored_as!(bytes_value: [u8], Vec<u8>, Bytes);
stored_as!(text_value: str, String);

impl<const N: usize> ToValue for [u8; N] {
    fn to_value(&self) -> Result<Encoded<'_>, ValueError> {
        bytes_value(self)
    }
}

impl FromValue for Bytes {
    fn from_value(bytes: Bytes, flags: u32) -> Result<Self, ValueError> {
        ValueError::check_flags("bytes", BYTES_FLAGS, flags)?;
        Ok(bytes)
    }
}

impl FromValue for Vec<u8> {
    fn from_value(bytes: Bytes, flags: u32) -> Result<Self, ValueError> {
        ValueError::check_flags("bytes", BYTES_FLAGS, flags)?;
        Ok(Vec::from(bytes))
    }
}

impl FromValue for String {
    fn from_value(bytes: Bytes, flags: u32) -> Result<Self, ValueError> {
        ValueError::check_flags("String", TEXT_FLAGS, flags)?;
        String::from_utf8(Vec::from(bytes)).map_err(|e| ValueError::Undecodable {
            expected: "String",
            reason: e.utf8_error().to_string(),
        })
    }
}

/// Integers as pymemcache writes them (`"%d" % value`). Reading trims
/// ASCII whitespace as Python's `int()` does: memcached pads a value that
/// `decr` made shorter with trailing spaces.
macro_rules! integer_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Result<Encoded<'_>, ValueError> {
                Ok(Encoded {
                    bytes: Cow::Owned(self.to_string().into_bytes()),
                    flags: flags::INTEGER,
                })
            }
        }

        impl FromValue for $t {
            fn from_value(bytes: Bytes, flags: u32) -> Result<Self, ValueError> {
                let name = stringify!($t);
                ValueError::check_flags(name, INTEGER_FLAGS, flags)?;
                let undecodable = |reason: String| ValueError::Undecodable {
                    expected: name,
                    reason,
                };
                std::str::from_utf8(&bytes)
                    .map_err(|e| undecodable(e.to_string()))?
                    .trim_ascii()
                    .parse::<$t>()
                    .map_err(|e| undecodable(e.to_string()))
            }
        }
    )*};
}

integer_value!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: ToValue + FromValue + PartialEq + std::fmt::Debug>(value: T, flags: u32) {
        let encoded = value.to_value().unwrap();
        assert_eq!(encoded.flags, flags);
        let bytes = Bytes::copy_from_slice(&encoded.bytes);
        assert_eq!(T::from_value(bytes, flags).unwrap(), value);
    }

    #[test]
    fn values_round_trip_with_pymemcache_flags() {
        round_trip(String::from("héllo"), 16);
        round_trip(b"\x00\xff".to_vec(), 0);
        round_trip(Bytes::from_static(b"raw"), 0);
        round_trip(-42i64, 2);
        round_trip(u128::MAX, 2);
        assert_eq!(&*42u8.to_value().unwrap().bytes, b"42");
        assert_eq!(&*(-7i32).to_value().unwrap().bytes, b"-7");
    }

    #[test]
    fn integers_read_as_python_reads_them() {
        let int = |s: &'static [u8], flags| i64::from_value(Bytes::from_static(s), flags);
        assert_eq!(int(b"9  ", flags::INTEGER), Ok(9), "decr padding");
        assert_eq!(int(b"12", flags::LONG), Ok(12));
        assert_eq!(int(b"+5", flags::INTEGER), Ok(5));
        assert!(matches!(
            int(b"12x", flags::INTEGER),
            Err(ValueError::Undecodable { .. })
        ));
        assert!(matches!(
            u8::from_value(Bytes::from_static(b"256"), flags::INTEGER),
            Err(ValueError::Undecodable { .. })
        ));
        assert!(matches!(
            u64::from_value(Bytes::from_static(b"-1"), flags::INTEGER),
            Err(ValueError::Undecodable { .. })
        ));
    }

    #[test]
    fn wrong_flags_are_refused_by_name() {
        let err = String::from_value(Bytes::from_static(b"1"), flags::INTEGER).unwrap_err();
        assert_eq!(
            err.to_string(),
            "stored value has flags 2 (an integer); String needs flags 16"
        );
        let err = u32::from_value(Bytes::from_static(b"x"), flags::PICKLE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "stored value has flags 1 (a Python pickle); u32 needs flags 2 or 4"
        );
        assert!(Vec::<u8>::from_value(Bytes::new(), flags::TEXT).is_err());
        assert!(Bytes::from_value(Bytes::new(), flags::TEXT | flags::COMPRESSED).is_err());
    }

    #[test]
    fn bad_utf8_is_undecodable_and_names_no_content() {
        let err = String::from_value(Bytes::from_static(b"ab\xff"), flags::TEXT).unwrap_err();
        assert!(matches!(err, ValueError::Undecodable { .. }));
        assert!(!err.to_string().contains("ab"), "{err}");
    }
}
