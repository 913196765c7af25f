//! The task that owns a multiplexed connection's socket.
//!
//! Callers append their encoded requests to a shared buffer and queue a
//! [`Pending`] each (see [`super::MuxConn::enqueue`]). The driver takes
//! everything queued at once, writes it with as few writes as the socket
//! allows, and reads the replies, which memcached sends in request order:
//! each decoded item goes to the oldest unanswered request until its
//! [`ReplyEnd`] says the reply is complete, and the whole reply is then
//! handed to that caller. So callers that arrive together share writes and
//! reads (and the server's), and a caller that gives up (its future
//! dropped) costs nothing: its reply is read and discarded, and the stream
//! stays in step.
//!
//! The connection ends for everyone waiting on it when it can no longer be
//! trusted or used: the server closes it or the socket fails, a reply is
//! malformed or out of shape, an error line arrives (after `CLIENT_ERROR`
//! memcached may read the rest of a request as commands; a `SERVER_ERROR`
//! answering a one-line command is that command's reply, see
//! [`ReplyEnd::step`]), or the oldest request passes its deadline (the
//! later ones wait behind it). Each waiting caller then gets an error, or a
//! safe retry when its request never left; nothing is ever answered out of
//! step.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use atomic_waker::AtomicWaker;
use bytes::BytesMut;
use memcache_codec::{DecodeError, Response, Value};
use tokio::io::AsyncWrite;
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};

use crate::conn::Stream;
use crate::policy::Failure;
use crate::read::{ItemSink, Reader, BUF_KEEP};
use crate::reply_shape::{ReplyEnd, Step};
use crate::Error;

/// What a caller gets back: its reply, or why there is none.
pub(crate) type Outcome = Result<Reply, Failure>;

/// One request's reply as the driver read it: the `VALUE` items apart (the
/// bulk of a multi-get, decoded on the codec's fast path without being
/// wrapped in a `Response`), every other item in order. A retrieval checks
/// values by key order alone, so feeding the values before the `END`s
/// they were interleaved with gives the same result.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    pub values: Vec<Value>,
    pub items: Vec<Response>,
}

/// One queued request: the shape of its reply, its deadline and where the
/// reply goes.
pub(crate) struct Pending {
    pub end: ReplyEnd,
    pub deadline: Instant,
    pub reply: oneshot::Sender<Outcome>,
    /// `State::out`'s length right after this request was appended.
    pub out_end: usize,
    /// Set by the driver when it takes the request for writing: the stream
    /// offsets of the request's first byte and just past its last
    /// ([`NOT_SENT`] until then), the bytes read so far, and whether the
    /// connection had answered any request before. Then the reply so far.
    sent_start: u64,
    sent_end: u64,
    received_before: u64,
    reused: bool,
    reply_so_far: Reply,
}

/// The stream offset of a request not taken for writing yet: past any
/// byte ever written.
const NOT_SENT: u64 = u64::MAX;

impl Pending {
    pub fn new(
        end: ReplyEnd,
        deadline: Instant,
        reply: oneshot::Sender<Outcome>,
        out_end: usize,
    ) -> Self {
        Pending {
            end,
            deadline,
            reply,
            out_end,
            sent_start: NOT_SENT,
            sent_end: NOT_SENT,
            received_before: 0,
            reused: false,
            reply_so_far: Reply::default(),
        }
    }
}

/// What callers and the driver share.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Wakes the driver: new requests, a release, or a caller that found a
    /// reply its exchange refused.
    pub waker: AtomicWaker,
    /// Set by a caller whose exchange refused its reply: the driver ends
    /// the connection at its next poll.
    pub poisoned: AtomicBool,
    /// Set once the connection has ended, under the state lock (so a
    /// caller queueing under it never queues on an ended connection).
    closed: AtomicBool,
    /// Requests queued and not yet answered: how busy the connection is.
    pub load: AtomicUsize,
}

pub(crate) struct State {
    /// Encoded requests the driver has not taken yet.
    pub out: BytesMut,
    /// Their pending replies, in request order.
    pub queued: VecDeque<Pending>,
    /// The client let go of the connection: the driver answers what is
    /// queued, then closes it.
    pub released: bool,
}

impl Shared {
    pub fn new() -> Self {
        Shared {
            state: Mutex::new(State {
                out: BytesMut::with_capacity(1024),
                queued: VecDeque::new(),
                released: false,
            }),
            waker: AtomicWaker::new(),
            poisoned: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            load: AtomicUsize::new(0),
        }
    }

    /// Whether the connection has ended or is about to (poisoned by a
    /// caller): nothing more may be queued on it.
    pub fn is_over(&self) -> bool {
        self.poisoned.load(Ordering::Acquire) || self.closed.load(Ordering::Acquire)
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held; never propagate poison.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Why the driver ended the connection.
#[derive(Debug)]
enum End {
    /// The server closed it or the socket failed
    /// ([`Error::ConnectionClosed`] or [`Error::Io`]).
    Lost(Error),
    /// The oldest request passed its deadline.
    Timeout,
    /// The reply stream could not be parsed.
    Protocol(DecodeError),
    /// A reply broke the stream (error line, wrong shape, bytes nobody
    /// asked for, or an exchange that refused its reply).
    Broken,
}

impl End {
    /// The error a waiting request gets; `first` is the oldest one.
    fn error(&self, first: bool) -> Error {
        match self {
            End::Lost(e) => e.clone(),
            End::Timeout => Error::Timeout,
            End::Protocol(e) if first => Error::Protocol(e.clone()),
            End::Protocol(_) | End::Broken => Error::Aborted,
        }
    }
}

pub(crate) struct Driver {
    shared: Arc<Shared>,
    stream: Stream,
    reader: Reader,
    /// Requests being written, and how much of them is out.
    writing: BytesMut,
    written: usize,
    /// A write completed that the stream may still buffer (TLS).
    needs_flush: bool,
    /// Requests written or being written, oldest first.
    waiting: VecDeque<Pending>,
    /// Stream offsets: bytes taken for writing, written, and read.
    taken_total: u64,
    written_total: u64,
    /// Whether any reply has been completed.
    answered_any: bool,
    /// One timeout timer for the whole connection, armed at the oldest
    /// request's deadline or earlier and moved forward lazily.
    timer: Pin<Box<Sleep>>,
    ended: bool,
}

impl Driver {
    pub fn new(shared: Arc<Shared>, stream: Stream, reader: Reader) -> Self {
        Driver {
            shared,
            stream,
            reader,
            writing: BytesMut::with_capacity(1024),
            written: 0,
            needs_flush: false,
            waiting: VecDeque::new(),
            taken_total: 0,
            written_total: 0,
            answered_any: false,
            timer: Box::pin(tokio::time::sleep_until(Instant::now())),
            ended: false,
        }
    }

    /// Runs until the connection ends or is released with nothing waiting:
    /// `Ok(true)` to stop quietly, `Ok(false)` to wait for the next wakeup.
    fn drive(&mut self, cx: &mut Context<'_>) -> Result<bool, End> {
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(End::Broken);
        }
        loop {
            let mut progress = false;
            if self.written == self.writing.len() && !self.needs_flush {
                match self.take_queued() {
                    Some(took) => progress |= took,
                    None => return Ok(true),
                }
            }
            progress |= self.write(cx)?;
            progress |= self.read(cx)?;
            if !progress {
                break;
            }
        }
        self.check_deadline(cx)?;
        Ok(false)
    }

    /// Takes every queued request for writing. `None` once the client has
    /// released the connection and nothing is left to answer.
    fn take_queued(&mut self) -> Option<bool> {
        self.writing.clear();
        self.written = 0;
        if self.writing.capacity() > BUF_KEEP {
            self.writing = BytesMut::with_capacity(1024);
        }
        let mut state = self.shared.state();
        if state.out.is_empty() {
            let done = state.released && self.waiting.is_empty();
            return if done { None } else { Some(false) };
        }
        std::mem::swap(&mut state.out, &mut self.writing);
        let base = self.taken_total;
        let mut start = base;
        for mut pending in state.queued.drain(..) {
            pending.sent_start = start;
            pending.sent_end = base + pending.out_end as u64;
            start = pending.sent_end;
            pending.received_before = self.reader.received();
            pending.reused = self.answered_any;
            self.waiting.push_back(pending);
        }
        drop(state);
        self.taken_total += self.writing.len() as u64;
        Some(true)
    }

    /// Writes what it can; completes `noreply` requests that are out.
    fn write(&mut self, cx: &mut Context<'_>) -> Result<bool, End> {
        let mut progress = false;
        while self.written < self.writing.len() {
            match Pin::new(&mut self.stream).poll_write(cx, &self.writing[self.written..]) {
                Poll::Ready(Ok(0)) => {
                    let zero = std::io::Error::from(std::io::ErrorKind::WriteZero);
                    return Err(End::Lost(zero.into()));
                }
                Poll::Ready(Ok(n)) => {
                    self.written += n;
                    self.written_total += n as u64;
                    self.needs_flush = true;
                    progress = true;
                }
                Poll::Ready(Err(e)) => return Err(End::Lost(e.into())),
                Poll::Pending => return Ok(progress),
            }
        }
        if self.needs_flush {
            match Pin::new(&mut self.stream).poll_flush(cx) {
                Poll::Ready(Ok(())) => {
                    self.needs_flush = false;
                    // Progress: what was queued meanwhile is taken next.
                    progress = true;
                }
                Poll::Ready(Err(e)) => return Err(End::Lost(e.into())),
                Poll::Pending => return Ok(progress),
            }
        }
        self.complete_unanswered_writes();
        Ok(progress)
    }

    /// Hands `pending` its outcome.
    fn finish(&self, pending: Pending, outcome: Outcome) {
        answer(&self.shared, pending, outcome);
    }

    /// Completes the `noreply` requests whose bytes are out, wherever they
    /// are in the queue: they take no part in framing, and a later caller
    /// of the same connection is behind them on the wire anyway.
    fn complete_unanswered_writes(&mut self) {
        let written = self.written_total;
        let is_out = |p: &Pending| p.end == ReplyEnd::Nothing && p.sent_end <= written;
        if !self.waiting.iter().any(is_out) {
            return;
        }
        let (done, waiting): (VecDeque<Pending>, VecDeque<Pending>) =
            std::mem::take(&mut self.waiting)
                .into_iter()
                .partition(is_out);
        self.waiting = waiting;
        for pending in done {
            self.finish(pending, Ok(Reply::default()));
        }
    }

    /// Reads what has arrived and hands out every reply it completes.
    fn read(&mut self, cx: &mut Context<'_>) -> Result<bool, End> {
        match self.reader.poll_fill(&mut self.stream, cx) {
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(e)) => return Err(End::Lost(e)),
            Poll::Pending => return Ok(false),
        }
        let mut router = Router {
            waiting: &mut self.waiting,
            shared: &self.shared,
            answered_any: &mut self.answered_any,
            broken: None,
        };
        let routed = self.reader.drain(&mut router);
        if let Some(done) = router.broken.take() {
            // Ended before the caller hears of it: nobody may queue on this
            // connection once its caller has the error.
            self.end(&End::Broken);
            finish(&self.shared, done);
        }
        routed.map(|_| true)
    }

    /// Fails everything if the oldest request is past its deadline; keeps
    /// the timer armed otherwise.
    fn check_deadline(&mut self, cx: &mut Context<'_>) -> Result<(), End> {
        let Some(deadline) = self.waiting.front().map(|p| p.deadline) else {
            return Ok(());
        };
        if self.timer.deadline() > deadline {
            self.timer.as_mut().reset(deadline);
        }
        while self.timer.as_mut().poll(cx).is_ready() {
            if Instant::now() >= deadline {
                return Err(End::Timeout);
            }
            self.timer.as_mut().reset(deadline);
        }
        Ok(())
    }

    /// Ends the connection: every waiting and queued request gets an error.
    fn end(&mut self, why: &End) {
        if self.ended {
            return;
        }
        self.ended = true;
        let queued = {
            let mut state = self.shared.state();
            // The requests in it are failed below; their bytes (perhaps a
            // large value) need not wait for the handle to go.
            state.out = BytesMut::new();
            self.shared.closed.store(true, Ordering::Release);
            std::mem::take(&mut state.queued)
        };
        let (received, written) = (self.reader.received(), self.written_total);
        let waiting = std::mem::take(&mut self.waiting);
        let mut first = true;
        for pending in waiting.into_iter().chain(queued) {
            if pending.end == ReplyEnd::Nothing && pending.sent_end <= written {
                // Written whole, which is all a `noreply` request waits for.
                self.finish(pending, Ok(Reply::default()));
                continue;
            }
            let never_sent = pending.sent_start >= written;
            // Nothing read since it was taken, on a connection that had
            // answered before: most likely closed by the server while idle.
            let closed_unread = matches!(why, End::Lost(_))
                && pending.reused
                && pending.received_before == received;
            // After a timeout the server is slow or gone: nothing is sent
            // again, even what never left.
            let unanswered = !matches!(why, End::Timeout) && (never_sent || closed_unread);
            let failure = Failure {
                error: why.error(first),
                unanswered,
                counted: first || !matches!(why, End::Timeout),
            };
            first = false;
            self.finish(pending, Err(failure));
        }
    }
}

impl Future for Driver {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // Registered before looking at the queue: a request queued after
        // the look wakes this task again.
        this.shared.waker.register(cx.waker());
        match this.drive(cx) {
            Ok(false) => Poll::Pending,
            Ok(true) => {
                this.end(&End::Lost(Error::ConnectionClosed));
                Poll::Ready(())
            }
            Err(why) => {
                this.end(&why);
                Poll::Ready(())
            }
        }
    }
}

impl Drop for Driver {
    /// A driver dropped unfinished (its runtime shut down) leaves no
    /// caller waiting forever and no connection that looks usable.
    fn drop(&mut self) {
        self.end(&End::Lost(Error::ConnectionClosed));
    }
}

/// Hands `pending` its outcome (a caller that gave up is not there to take
/// it, which is fine).
fn answer(shared: &Shared, pending: Pending, outcome: Outcome) {
    shared.load.fetch_sub(1, Ordering::Relaxed);
    let _ = pending.reply.send(outcome);
}

/// Hands a reply that broke the stream to its caller, whose
/// [`crate::reply::Reading`] turns it into the call's error.
fn finish(shared: &Shared, mut done: Pending) {
    let reply = std::mem::take(&mut done.reply_so_far);
    answer(shared, done, Ok(reply));
}

/// Where the read loop's items go on a multiplexed connection: each to the
/// oldest request still waiting for a reply, framed by that request's
/// [`ReplyEnd`].
struct Router<'a> {
    waiting: &'a mut VecDeque<Pending>,
    shared: &'a Shared,
    answered_any: &'a mut bool,
    /// The request whose reply broke the stream, answered once the
    /// connection has ended.
    broken: Option<Pending>,
}

impl Router<'_> {
    /// The oldest request waiting for a reply: a reply to a later request
    /// means every `noreply` one before it was written whole.
    #[inline]
    fn front(&mut self) -> Result<&mut Pending, End> {
        while self
            .waiting
            .front()
            .is_some_and(|p| p.end == ReplyEnd::Nothing)
        {
            if let Some(done) = self.waiting.pop_front() {
                answer(self.shared, done, Ok(Reply::default()));
            }
        }
        // Bytes nobody asked for.
        self.waiting.front_mut().ok_or(End::Broken)
    }

    /// After the front request's item: hands out its reply once complete.
    fn stepped(&mut self, step: Step) -> Result<bool, End> {
        if step == Step::More {
            return Ok(false);
        }
        let Some(mut done) = self.waiting.pop_front() else {
            return Ok(false);
        };
        *self.answered_any = true;
        if step == Step::Broken {
            self.broken = Some(done);
            return Err(End::Broken);
        }
        let reply = std::mem::take(&mut done.reply_so_far);
        answer(self.shared, done, Ok(reply));
        Ok(false)
    }
}

impl ItemSink for Router<'_> {
    type Error = End;

    #[inline]
    fn value(&mut self, value: Value) -> Result<bool, End> {
        let front = self.front()?;
        front.reply_so_far.values.push(value);
        match front.end.step_value() {
            Step::More => Ok(false),
            step => self.stepped(step),
        }
    }

    fn item(&mut self, item: Response) -> Result<bool, End> {
        let front = self.front()?;
        let step = match item {
            // A value the fast path declined (an unusual line) is still a
            // value: kept with the others, in order.
            Response::Value(value) => {
                front.reply_so_far.values.push(value);
                front.end.step_value()
            }
            item => {
                let step = front.end.step(&item);
                front.reply_so_far.items.push(item);
                step
            }
        };
        self.stepped(step)
    }
}

impl From<DecodeError> for End {
    fn from(e: DecodeError) -> Self {
        End::Protocol(e)
    }
}

/// Frames one reply from `stream` exactly as the driver does, without a
/// runtime (for the fuzz harness, [`crate::fuzzing`]): `Ok(None)` when the
/// bytes ran out before the reply was complete. `stream` must never be
/// pending (an in-memory reader).
pub(crate) fn frame_one<R: tokio::io::AsyncRead + Unpin>(
    end: ReplyEnd,
    reader: &mut Reader,
    stream: &mut R,
) -> Result<Option<Reply>, Error> {
    let shared = Shared::new();
    shared.load.store(1, Ordering::Relaxed);
    let (reply, mut receiver) = oneshot::channel();
    let mut waiting = VecDeque::from([Pending::new(end, Instant::now(), reply, 0)]);
    let mut answered_any = false;
    let mut cx = Context::from_waker(std::task::Waker::noop());
    loop {
        let mut router = Router {
            waiting: &mut waiting,
            shared: &shared,
            answered_any: &mut answered_any,
            broken: None,
        };
        let routed = reader.drain(&mut router);
        if let Some(done) = router.broken.take() {
            finish(&shared, done);
        }
        // Handed out (bytes after it would end the connection, after).
        if let Ok(outcome) = receiver.try_recv() {
            return outcome.map(Some).map_err(|failure| failure.error);
        }
        match routed {
            Err(End::Protocol(e)) => return Err(Error::Protocol(e)),
            Err(why) => return Err(why.error(true)),
            Ok(_) => {}
        }
        match reader.poll_fill(stream, &mut cx) {
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(_)) | Poll::Pending => return Ok(None),
        }
    }
}
