//! The read loop: the one place that fills a connection's read buffer and
//! decodes what it holds.
//!
//! Pooled connections ([`crate::conn`]) read one reply at a time through
//! [`Reader::read`]; a multiplexed connection's driver ([`crate::mux`])
//! calls the same two steps, [`Reader::poll_fill`] and [`Reader::drain`],
//! from its poll loop; the fuzz harness ([`crate::fuzzing`]) reads an
//! in-memory reply through [`Reader::read`]. So the codec's `VALUE` fast
//! path, the buffer's growth and its release after a huge value are the
//! same everywhere. Where each decoded item goes is the caller's
//! [`ItemSink`].

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use memcache_codec::{DecodeError, Decoder, Response, Value};
use tokio::io::AsyncRead;

use crate::Error;

/// Initial read buffer size; grows for large values.
pub(crate) const READ_CHUNK: usize = 16 * 1024;

/// A buffer (read or write side) grown past this for a huge value is let
/// go once it is empty: a connection does not keep a value's worth of
/// memory for the rest of its life.
pub(crate) const BUF_KEEP: usize = 256 * 1024;

/// Where decoded items go.
pub(crate) trait ItemSink {
    /// Why the sink stopped the reading.
    type Error: From<DecodeError>;
    /// Takes a `VALUE` item from the decoder's fast path (a bare
    /// [`Value`], never wrapped in a [`Response`]); `Ok(true)` stops the
    /// decoding (a reply is complete).
    fn value(&mut self, value: Value) -> Result<bool, Self::Error>;
    /// Takes any other item (or a `VALUE` the fast path declined).
    fn item(&mut self, item: Response) -> Result<bool, Self::Error>;
}

/// A connection's read side: its buffer and decoder, and how many bytes
/// it has received.
pub(crate) struct Reader {
    buf: BytesMut,
    decoder: Decoder,
    received: u64,
}

impl Reader {
    pub fn new(decoder: Decoder) -> Reader {
        Reader {
            buf: BytesMut::with_capacity(READ_CHUNK),
            decoder,
            received: 0,
        }
    }

    /// Bytes received since the connection opened.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Whether bytes wait in the buffer that no reply has taken.
    pub fn has_buffered(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Decodes what the buffer holds, item by item, into `sink`:
    /// `Ok(true)` when the sink stopped it, `Ok(false)` when more bytes
    /// are needed.
    ///
    /// A function of its own, not part of an `async fn`'s body: a `match`
    /// on a decoded item across an `.await` would keep the item (a
    /// 160-byte `Response`) in every future up to the caller's.
    #[inline(never)]
    pub fn drain<S: ItemSink>(&mut self, sink: &mut S) -> Result<bool, S::Error> {
        self.drain_inline(sink)
    }

    /// [`Reader::drain`], always inlined: into [`Reader::read`], where a
    /// call per batch of decoded items measured slower (a multi-get's
    /// values go from the decoder into the caller's map without a stop);
    /// the multiplexed driver, whose poll is large already, calls it.
    #[inline(always)]
    fn drain_inline<S: ItemSink>(&mut self, sink: &mut S) -> Result<bool, S::Error> {
        loop {
            let stop = match self.decoder.decode_value(&mut self.buf) {
                Some(value) => sink.value(value)?,
                None => match self.decoder.decode(&mut self.buf)? {
                    Some(item) => sink.item(item)?,
                    None => {
                        // The values taken keep their own share of the
                        // allocation.
                        if self.buf.is_empty() && self.buf.capacity() > BUF_KEEP {
                            self.buf = BytesMut::with_capacity(READ_CHUNK);
                        }
                        return Ok(false);
                    }
                },
            };
            if stop {
                return Ok(true);
            }
        }
    }

    /// Reads once from `stream` into the buffer: the bytes read, or
    /// [`Error::ConnectionClosed`] at the end of the stream.
    pub fn poll_fill<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        stream: &mut R,
        cx: &mut Context<'_>,
    ) -> Poll<Result<usize, Error>> {
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
            self.buf.reserve(READ_CHUNK);
        }
        let n = ready!(tokio_util::io::poll_read_buf(
            Pin::new(stream),
            cx,
            &mut self.buf
        ))?;
        if n == 0 {
            return Poll::Ready(Err(Error::ConnectionClosed));
        }
        self.received += n as u64;
        Poll::Ready(Ok(n))
    }

    /// Reads from `stream` until `sink` stops the decoding.
    pub async fn read<R, S>(&mut self, stream: &mut R, sink: &mut S) -> Result<(), S::Error>
    where
        R: AsyncRead + Unpin + ?Sized,
        S: ItemSink,
        S::Error: From<Error>,
    {
        loop {
            if self.drain_inline(sink)? {
                return Ok(());
            }
            poll_fn(|cx| self.poll_fill(stream, cx)).await?;
        }
    }
}
