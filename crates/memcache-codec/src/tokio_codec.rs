//! A `tokio_util::codec` adapter, for users who frame a socket with
//! `Framed`. The client crate drives [`Decoder`] directly instead.

use bytes::BytesMut;

use crate::{DecodeError, Decoder, EncodeError, Limits, Request, Response};

/// Errors of the framed codec: the codec's own, or the socket's.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The server's bytes could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A request could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// `Framed` codec: encodes [`Request`]s, decodes [`Response`] items.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemcacheCodec {
    decoder: Decoder,
}

impl MemcacheCodec {
    /// A codec that enforces `limits`.
    pub fn new(limits: Limits) -> Self {
        MemcacheCodec {
            decoder: Decoder::new(limits),
        }
    }
}

impl tokio_util::codec::Decoder for MemcacheCodec {
    type Item = Response;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Response>, CodecError> {
        Ok(self.decoder.decode(src)?)
    }
}

impl tokio_util::codec::Encoder<Request<'_>> for MemcacheCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Request<'_>, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(item.encode(dst, &self.decoder.limits)?)
    }
}
