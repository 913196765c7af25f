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
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;
use tokio::time::{Instant, Sleep};

use crate::exchange::Exchange;
use crate::read::{Reader, BUF_KEEP};
use crate::reply::Reading;
use crate::vectored;
use crate::{Error, Result, ServerAddr};

/// Requests up to this size are written before reading (one write, then
/// reads); larger ones are written while the replies are read.
const WRITE_THEN_READ_MAX: usize = 32 * 1024;

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
    reader: Reader,
    write_buf: BytesMut,
    in_flight: bool,
    /// Bytes received before the current exchange: a failure before any
    /// more arrived, on a reused connection, means the server had closed it
    /// (restart), and the request can be retried safely on a new connection.
    received_before: u64,
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
            reader: Reader::new(Decoder::new(limits)),
            write_buf: BytesMut::with_capacity(1024),
            in_flight: false,
            received_before: 0,
            timer: None,
            peer,
        })
    }

    /// Declares the connection in step after an exchange that ended with a
    /// complete error line the caller expected (the authentication probe).
    pub(crate) fn mark_in_step(&mut self) {
        self.in_flight = false;
    }

    /// The socket and its read side (whatever the buffer already holds): a
    /// connected (and authenticated) connection handed to a multiplexed
    /// connection's driver.
    pub fn into_parts(self) -> (Stream, Reader, Peer) {
        (self.stream, self.reader, self.peer)
    }

    /// Whether the connection is in step with the server and can be reused.
    pub fn is_reusable(&self) -> bool {
        !self.in_flight && !self.reader.has_buffered()
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
        self.reader.received() > self.received_before
    }

    /// Runs one exchange: encode, one write, read until the reply is
    /// complete (see [`Reading`]). An encoding error leaves the connection
    /// untouched; any other error leaves it unusable.
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
        self.received_before = self.reader.received();
        let reader = &mut self.reader;
        let request = &self.write_buf[..];
        let answer = match &mut self.stream {
            Stream::Tcp(s) => exchange_io(s, request, reader, exchange).await?,
            #[cfg(unix)]
            Stream::Unix(s) => exchange_io(s, request, reader, exchange).await?,
            #[cfg(feature = "tls")]
            Stream::Tls(s) => exchange_io(&mut **s, request, reader, exchange).await?,
        };
        // A huge value must not stay allocated for the connection's lifetime.
        if self.write_buf.capacity() > BUF_KEEP {
            self.write_buf = BytesMut::with_capacity(1024);
        }
        // After an error answer the stream is in step, but an exclusive
        // connection costs only a reconnect to give up, so it is not
        // trusted further (a multiplexed one is kept: dropping it would
        // fail every call pipelined with this one).
        self.in_flight = answer.is_err();
        answer
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

/// Writes the request and reads the reply: sequentially for small requests,
/// concurrently for large ones (see [`Conn::run`]). A large storage value
/// goes out from the caller's slice after the encoded command line. The
/// outer error leaves the stream out of step; the inner one is the reply's
/// answer (see [`Reading::finish`]).
async fn exchange_io<S, E>(
    stream: &mut S,
    request: &[u8],
    reader: &mut Reader,
    exchange: &mut E,
) -> Result<Result<()>>
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
    if !exchange.expects_reply() {
        stream.write_all(request).await?;
        return Ok(Ok(()));
    }
    let mut reading = Reading::new(exchange);
    if request.len() <= WRITE_THEN_READ_MAX {
        stream.write_all(request).await?;
        reader.read(stream, &mut reading).await?;
        return Ok(reading.finish());
    }
    // Rare (a request over 32 KiB), so the halves' shared lock is no cost.
    let (mut r, mut w) = tokio::io::split(stream);
    let write = async { w.write_all(request).await.map_err(Error::from) };
    tokio::try_join!(write, reader.read(&mut r, &mut reading))?;
    Ok(reading.finish())
}
