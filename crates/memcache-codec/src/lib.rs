//! `memcache-codec`: the memcached text and meta protocol as a pure function
//! of bytes.
//!
//! This crate is the foundation of the workspace: the traced client
//! (`memcache-client`) trusts it to put only valid requests on the wire and to
//! read back exactly one response per request. It does no IO: [`Request::encode`]
//! appends a request to a `BytesMut`, and [`Decoder::decode`] takes one response
//! item off the front of a `BytesMut` (zero-copy: values are slices of the read
//! buffer), saying "need more" without consuming anything when the buffer holds
//! only part of an item.
//!
//! Everything a user or a server can send is validated: keys are checked
//! before anything is written, values over the size limit are refused, and a
//! hostile server cannot make the decoder buffer without bound or panic.
//!
//! ```
//! use bytes::BytesMut;
//! use memcache_codec::{Decoder, Limits, Request, Response};
//!
//! let mut out = BytesMut::new();
//! Request::Get { keys: &[b"answer"] }.encode(&mut out, &Limits::default()).unwrap();
//! assert_eq!(&out[..], b"get answer\r\n");
//!
//! let mut input = BytesMut::from(&b"VALUE answer 0 2\r\n42\r\nEND\r\n"[..]);
//! let decoder = Decoder::default();
//! match decoder.decode(&mut input).unwrap() {
//!     Some(Response::Value(v)) => assert_eq!(&v.data[..], b"42"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! assert_eq!(decoder.decode(&mut input).unwrap(), Some(Response::End));
//! assert!(input.is_empty());
//! ```

mod decode;
mod error;
mod key;
mod limits;
mod meta;
mod plain_value;
mod request;
mod response;
#[cfg(feature = "tokio-codec")]
mod tokio_codec;

pub use decode::Decoder;
pub use error::{DecodeError, EncodeError, KeyError};
pub use key::{validate_key, MAX_KEY_LEN};
pub use limits::Limits;
pub use meta::{
    ArithmeticMode, MetaArithmeticFlags, MetaDeleteFlags, MetaGetFlags, MetaReturnFlags,
    MetaSetFlags, MetaSetMode,
};
pub use request::{Request, StoreCommand, ValidRequest};
pub use response::{MetaResponse, MetaStatus, Response, Value};
#[cfg(feature = "tokio-codec")]
pub use tokio_codec::{CodecError, MemcacheCodec};
