//! Any serde type as JSON ([`Json`], flags [`flags::JSON`]) or MessagePack
//! ([`MsgPack`], flags [`flags::MSGPACK`]): feature `serde`.
//!
//! Error messages keep the kind and position of a failure, never the
//! offending data (serde's own messages quote it).

use std::borrow::Cow;

use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

use super::{flags, Encoded, FromValue, ToValue, ValueError};

/// A value stored as JSON (`serde_json`) with flags [`flags::JSON`]:
/// `client.set_as(key, Json(&user), ..)`,
/// `client.get_as::<Json<User>>(key)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

/// A value stored as MessagePack (`rmp-serde`, structs as maps with field
/// names, so fields may be added and other languages read them) with flags
/// [`flags::MSGPACK`]: `client.set_as(key, MsgPack(&user), ..)`,
/// `client.get_as::<MsgPack<User>>(key)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgPack<T>(pub T);

impl<T> Json<T> {
    /// The wrapped value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> MsgPack<T> {
    /// The wrapped value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

const JSON_FLAGS: &[u32] = &[flags::JSON];
const MSGPACK_FLAGS: &[u32] = &[flags::MSGPACK];

/// A serde_json failure by category and position only.
fn json_reason(e: &serde_json::Error) -> String {
    let category = match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "data does not match the type",
        serde_json::error::Category::Eof => "unexpected end",
    };
    match e.line() {
        0 => category.to_string(),
        line => format!("{category} at line {line} column {}", e.column()),
    }
}

impl<T: Serialize> ToValue for Json<T> {
    fn to_value(&self) -> Result<Encoded<'_>, ValueError> {
        let bytes = serde_json::to_vec(&self.0).map_err(|e| ValueError::Unencodable {
            format: "JSON",
            reason: json_reason(&e),
        })?;
        Ok(Encoded {
            bytes: Cow::Owned(bytes),
            flags: flags::JSON,
        })
    }
}

impl<T: DeserializeOwned> FromValue for Json<T> {
    fn from_value(bytes: Bytes, flags: u32) -> Result<Self, ValueError> {
        ValueError::check_flags("JSON", JSON_FLAGS, flags)?;
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|e| ValueError::Undecodable {
                expected: "JSON",
                reason: json_reason(&e),
            })
    }
}

impl<T: Serialize> ToValue for MsgPack<T> {
    fn to_value(&self) -> Result<Encoded<'_>, ValueError> {
        let bytes = rmp_serde::to_vec_named(&self.0).map_err(|e| ValueError::Unencodable {
            format: "MessagePack",
            reason: match e {
                rmp_serde::encode::Error::InvalidValueWrite(_) => "write failed",
                rmp_serde::encode::Error::UnknownLength => "a sequence of unknown length",
                rmp_serde::encode::Error::DepthLimitExceeded => "nested too deeply",
                _ => "the type cannot be represented",
            }
            .to_string(),
        })?;
        Ok(Encoded {
            bytes: Cow::Owned(bytes),
            flags: flags::MSGPACK,
        })
    }
}

impl<T: DeserializeOwned> FromValue for MsgPack<T> {
    fn from_value(bytes: Bytes, flags: u32) -> Result<Self, ValueError> {
        use rmp_serde::decode::Error as E;
        ValueError::check_flags("MessagePack", MSGPACK_FLAGS, flags)?;
        let undecodable = |reason: &str| ValueError::Undecodable {
            expected: "MessagePack",
            reason: reason.to_string(),
        };
        let mut rest: &[u8] = &bytes;
        let value = rmp_serde::from_read(&mut rest).map_err(|e| {
            undecodable(match e {
                E::InvalidMarkerRead(_) | E::InvalidDataRead(_) => "truncated or unreadable",
                E::TypeMismatch(_) => "a value of another type",
                E::OutOfRange => "a number out of range",
                E::LengthMismatch(_) => "a sequence of the wrong length",
                E::Utf8Error(_) => "a string that is not UTF-8",
                E::DepthLimitExceeded => "nested too deeply",
                _ => "data does not match the type",
            })
        })?;
        match rest.is_empty() {
            true => Ok(MsgPack(value)),
            false => Err(undecodable("trailing bytes after the value")),
        }
    }
}
