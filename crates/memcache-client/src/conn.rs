//! One buffered connection to a server (TCP or Unix socket).
//!
//! A request is encoded into the write buffer and sent with one write (a
//! large storage value goes out from the caller's slice, see
//! [`crate::vectored`]); the response is decoded straight from the read
//! buffer. The connection knows
//! when it is out of step with the server: `in_flight` is set before the
//! first byte is written and cleared only once the whole response has been
//! read, so a connection whose exchange timed out, failed or was cancelled
//! (its future dropped) still has it set and is never reused.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use memcache_codec::{Decoder, Limits};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;
use tokio::time::{Instant, Sleep};

use crate::exchange::Exchange;
use crate::vectored;
use crate::{Error, Result, ServerAddr};

/// Initial read buffer size; grows for large values.
pub(crate) const READ_CHUNK: usize = 16 * 1024;

/// Requests up to this size are written before reading (one write, then
/// reads); larger ones are written while the replies are read.
const WRITE_THEN_READ_MAX: usize = 32 * 1024;

/// A write buffer grown past this (a huge value) is released afterwards.
const SHRINK_ABOVE: usize = 256 * 1024;

pub(crate) enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Whichever stream it is, for the multiplexed connection's driver
/// (exclusive connections call each stream type directly instead).
macro_rules! on_stream {
    ($stream:expr, $s:ident => $body:expr) => {
        match $stream {
            Stream::Tcp($s) => $body,
            #[cfg(unix)]
            Stream::Unix($s) => $body,
            #[cfg(feature = "tls")]
            Stream::Tls($s) => $body,
        }
    };
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        on_stream!(self.get_mut(), s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        on_stream!(self.get_mut(), s => Pin::new(s).poll_write(cx, buf))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        on_stream!(self.get_mut(), s => Pin::new(s).poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        on_stream!(self.get_mut(), s => Pin::new(s).poll_shutdown(cx))
    }
}

/// The connected peer, for `network.peer.*` span attributes.
#[derive(Clone, Debug)]
pub(crate) struct Peer {
    pub address: String,
    pub port: Option<u16>,
}

pub(crate) struct Conn {
    stream: Stream,
    read_buf: BytesMut,
    write_buf: BytesMut,
    decoder: Decoder,
    in_flight: bool,
    /// Whether any byte arrived during the current exchange: a failure before
    /// that on a reused connection means the server had closed it (restart),
    /// and the request can be retried safely on a new connection.
    received: bool,
    /// The timeout timer, kept across exchanges (see [`Conn::run_until`]);
    /// created by the first one.
    timer: Option<Pin<Box<Sleep>>>,
    pub peer: Peer,
}

impl Conn {
    /// Connects within `timeout`, with the TLS handshake when `tls` is
    /// given; authentication is the caller's (see [`crate::setup`]).
    pub async fn open(
        addr: &ServerAddr,
        timeout: Duration,
        limits: Limits,
        #[cfg(feature = "tls")] tls: Option<&crate::tls::Connector>,
    ) -> Result<Conn> {
        let connect = async {
            match addr {
                ServerAddr::Tcp { host, port } => {
                    let stream = TcpStream::connect((host.as_str(), *port)).await?;
                    // Requests are written whole; Nagle would only delay them.
                    stream.set_nodelay(true)?;
                    let peer = stream.peer_addr()?;
                    let peer = Peer {
                        address: peer.ip().to_string(),
                        port: Some(peer.port()),
                    };
                    #[cfg(feature = "tls")]
                    if let Some(tls) = tls {
                        let stream = tls.handshake(host, stream).await?;
                        return Ok((Stream::Tls(Box::new(stream)), peer));
                    }
                    Ok::<_, Error>((Stream::Tcp(stream), peer))
                }
                #[cfg(not(unix))]
                ServerAddr::Unix(_) => Err(crate::config::unix_unsupported()),
                #[cfg(unix)]
                ServerAddr::Unix(path) => {
                    let stream = UnixStream::connect(path).await?;
                    Ok((
                        Stream::Unix(stream),
                        Peer {
                            address: path.display().to_string(),
                            port: None,
                        },
                    ))
                }
            }
        };
        let (stream, peer) = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| Error::ConnectTimeout)??;
        Ok(Conn {
            stream,
            read_buf: BytesMut::with_capacity(READ_CHUNK),
            write_buf: BytesMut::with_capacity(1024),
            decoder: Decoder::new(limits),
            in_flight: false,
            received: false,
            timer: None,
            peer,
        })
    }

    /// Declares the connection in step after an exchange that ended with a
    /// complete error line the caller expected (the authentication probe).
    pub(crate) fn mark_in_step(&mut self) {
        self.in_flight = false;
    }

    /// The socket, whatever the read buffer already holds, and the decoder:
    /// a connected (and authenticated) connection handed to a multiplexed
    /// connection's driver.
    pub fn into_parts(self) -> (Stream, BytesMut, Decoder, Peer) {
        (self.stream, self.read_buf, self.decoder, self.peer)
    }

    /// Whether the connection is in step with the server and can be reused.
    pub fn is_reusable(&self) -> bool {
        !self.in_flight && self.read_buf.is_empty()
    }

    /// Whether the server has been silent since the last exchange ended.
    /// memcached never speaks unasked, so an idle connection with bytes (a
    /// late reply to a timed-out or cancelled request, or anything a hostile
    /// peer sends) or an end of stream waiting is out of step: handing it to
    /// the next caller would give that caller someone else's reply.
    ///
    /// One poll with a no-op waker: when the reactor has not flagged the
    /// socket readable this is an atomic load, no system call; only a
    /// socket with something waiting is read.
    pub fn is_quiet(&mut self) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut probe = [0u8; 64];
        let mut buf = ReadBuf::new(&mut probe);
        matches!(
            Pin::new(&mut self.stream).poll_read(&mut cx, &mut buf),
            Poll::Pending
        )
    }

    /// Whether any response byte arrived during the last exchange.
    pub fn received_any(&self) -> bool {
        self.received
    }

    /// Runs one exchange: encode, one write, read until the exchange says it
    /// is complete. An encoding error leaves the connection untouched.
    ///
    /// A large pipelined request (a multi-get of thousands of keys, a big
    /// `set_many`) is written while the replies are read: the server answers
    /// the first commands before it has read the last ones, and if nobody
    /// read those answers both sides would block on full socket buffers.
    pub async fn run<E: Exchange + ?Sized>(
        &mut self,
        exchange: &mut E,
        limits: &Limits,
    ) -> Result<()> {
        self.write_buf.clear();
        exchange.encode(&mut self.write_buf, limits)?;
        self.in_flight = true;
        self.received = false;
        let expects_reply = exchange.expects_reply();
        let mut reader = Reader {
            read_buf: &mut self.read_buf,
            decoder: &self.decoder,
            received: &mut self.received,
        };
        let request = &self.write_buf[..];
        match &mut self.stream {
            Stream::Tcp(s) => exchange_io(s, request, &mut reader, exchange, expects_reply).await?,
            #[cfg(unix)]
            Stream::Unix(s) => {
                exchange_io(s, request, &mut reader, exchange, expects_reply).await?
            }
            #[cfg(feature = "tls")]
            Stream::Tls(s) => {
                exchange_io(&mut **s, request, &mut reader, exchange, expects_reply).await?
            }
        }
        // A huge value must not stay allocated for the connection's lifetime.
        if self.write_buf.capacity() > SHRINK_ABOVE {
            self.write_buf = BytesMut::with_capacity(1024);
        }
        shrink_if_huge(&mut self.read_buf);
        self.in_flight = false;
        Ok(())
    }

    /// [`Conn::run`], failing with [`Error::Timeout`] at `deadline`.
    ///
    /// Registering a timer for every exchange and cancelling it when the
    /// reply arrives costs two trips through tokio's timer wheel per call.
    /// Instead the connection keeps one timer and re-arms it lazily: it
    /// stays armed at an earlier exchange's deadline, which is never later
    /// than this one's (every exchange gets the same timeout); when it fires
    /// before `deadline`, it is moved to `deadline` and waited on again. So
    /// the wheel is touched about once per timeout period, not per call,
    /// and no exchange waits past its deadline. (A timer that fires while
    /// the connection sits idle wakes its last task once, harmlessly.)
    pub async fn run_until<E: Exchange + ?Sized>(
        &mut self,
        exchange: &mut E,
        limits: &Limits,
        deadline: Instant,
    ) -> Result<()> {
        let mut timer = match self.timer.take() {
            Some(timer) => timer,
            None => Box::pin(tokio::time::sleep_until(deadline)),
        };
        if timer.deadline() > deadline {
            timer.as_mut().reset(deadline);
        }
        let result = {
            let work = self.run(exchange, limits);
            tokio::pin!(work);
            loop {
                tokio::select! {
                    biased;
                    result = &mut work => break result,
                    () = timer.as_mut() => {
                        if Instant::now() >= deadline {
                            break Err(Error::Timeout);
                        }
                        timer.as_mut().reset(deadline);
                    }
                }
            }
        };
        self.timer = Some(timer);
        result
    }

    /// Sends raw, already-encoded bytes without waiting for a reply (`quit`).
    pub async fn send_only(&mut self, bytes: &[u8]) -> Result<()> {
        self.in_flight = true;
        self.stream.write_all(bytes).await?;
        Ok(())
    }
}

/// Lets go of a read buffer grown for a huge value once it is empty (the
/// values taken from it keep their own share of the allocation).
pub(crate) fn shrink_if_huge(read_buf: &mut BytesMut) {
    if read_buf.is_empty() && read_buf.capacity() > SHRINK_ABOVE {
        *read_buf = BytesMut::with_capacity(READ_CHUNK);
    }
}

/// The read side of an exchange: the buffer, the decoder and whether any
/// byte arrived.
struct Reader<'a> {
    read_buf: &'a mut BytesMut,
    decoder: &'a Decoder,
    received: &'a mut bool,
}

impl Reader<'_> {
    /// Feeds response items to the exchange until it is complete.
    async fn read_reply<R, E>(&mut self, r: &mut R, exchange: &mut E) -> Result<()>
    where
        R: AsyncRead + Unpin,
        E: Exchange + ?Sized,
    {
        loop {
            // Decoded items are fed before the read below, in a statement of
            // their own: a `match` on `decode(..)` would keep its scrutinee
            // (a 160-byte `Response`) alive across the `.await`, and every
            // future up to the caller's would grow by it and be copied that
            // much more on every call. A multi-get reply is mostly plain
            // `VALUE` items: those take the decoder's inline fast path,
            // which hands over a `Value` built in place (not a `Response`
            // returned through memory and copied); anything else goes
            // through `decode`.
            loop {
                let complete = match self.decoder.decode_value(self.read_buf) {
                    Some(value) => exchange.feed_value(value)?,
                    None => match self.decoder.decode(self.read_buf)? {
                        Some(item) => exchange.feed(item)?,
                        None => break,
                    },
                };
                if complete {
                    return Ok(());
                }
            }
            if self.read_buf.capacity() - self.read_buf.len() < READ_CHUNK / 4 {
                self.read_buf.reserve(READ_CHUNK);
            }
            if r.read_buf(self.read_buf).await? == 0 {
                return Err(Error::ConnectionClosed);
            }
            *self.received = true;
        }
    }
}

/// Writes the request and reads the reply: sequentially for small requests,
/// concurrently for large ones (see [`Conn::run`]). A large storage value
/// goes out from the caller's slice after the encoded command line.
async fn exchange_io<S, E>(
    stream: &mut S,
    request: &[u8],
    reader: &mut Reader<'_>,
    exchange: &mut E,
    expects_reply: bool,
) -> Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
    E: Exchange + ?Sized,
{
    let mut request = request;
    if let Some(value) = exchange.large_value() {
        // One request: the server answers only once it has the whole
        // value, so writing before reading cannot deadlock.
        vectored::write_line_value(stream, request, value).await?;
        request = &[];
    }
    if !expects_reply {
        stream.write_all(request).await?;
        return Ok(());
    }
    if request.len() <= WRITE_THEN_READ_MAX {
        stream.write_all(request).await?;
        return reader.read_reply(stream, exchange).await;
    }
    // Rare (a request over 32 KiB), so the halves' shared lock is no cost.
    let (mut r, mut w) = tokio::io::split(stream);
    let write = async { w.write_all(request).await.map_err(Error::from) };
    tokio::try_join!(write, reader.read_reply(&mut r, exchange)).map(|_| ())
}
