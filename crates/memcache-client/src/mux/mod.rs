//! Multiplexed connections ([`crate::ConnectionMode::Multiplexed`]): each
//! connection carries the requests of many callers at once, pipelined.
//!
//! An exclusive pooled connection serves one call at a time, so every call
//! costs the client and the server one write and one read. Here callers
//! that arrive together share them: a connection's driver task
//! ([`driver`]) writes everything queued in one go and hands each reply, in
//! order, to its caller, whose exchange then checks it as usual. Under
//! load that is several times fewer system calls on both sides; a lone
//! sequential caller pays a little more (the hand-off to the driver task).
//!
//! A server gets up to `max_connections_per_server` connections, opened as
//! load needs them (see [`Multiplexer::conn`]); one that ended is replaced
//! by the next call that needs its slot.

mod driver;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use memcache_codec::Limits;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::conn::Peer;
use crate::exchange::Exchange;
use crate::metrics::ServerMetrics;
use crate::policy::{deadline_after, Failure};
use crate::reply::Reading;
use crate::reply_shape::ReplyEnd;
use crate::setup::ConnSetup;
use crate::{Error, Result, ServerAddr};
pub(crate) use driver::frame_one;
use driver::{Driver, Outcome, Pending, Shared};

/// The multiplexed connections to one server.
pub(crate) struct Multiplexer {
    addr: ServerAddr,
    connect_timeout: Duration,
    limits: Limits,
    setup: ConnSetup,
    slots: Box<[Slot]>,
    metrics: Arc<ServerMetrics>,
}

/// Requests in flight on a connection before the next one is used: big
/// enough batches to save most system calls, while a busy client still
/// spreads over several connections (memcached serves each connection on
/// one worker thread).
const FILL: usize = 8;

struct Slot {
    conn: Mutex<Option<Arc<MuxConn>>>,
    /// Held while this slot connects: callers that pick it meanwhile wait
    /// for that connection instead of opening their own. Holds the last
    /// attempt's error, if it failed.
    connecting: tokio::sync::Mutex<Option<Error>>,
    /// Connect attempts finished, to tell whether one ended while a caller
    /// waited for `connecting`.
    attempts: AtomicU64,
}

/// A handle on one multiplexed connection. When the last handle goes (the
/// client dropped it, or replaced it after it ended), the driver answers
/// what is queued and closes the connection.
pub(crate) struct MuxConn {
    shared: Arc<Shared>,
    pub peer: Peer,
}

impl Multiplexer {
    pub fn new(
        addr: ServerAddr,
        connections: usize,
        connect_timeout: Duration,
        limits: Limits,
        setup: ConnSetup,
        metrics: Arc<ServerMetrics>,
    ) -> Multiplexer {
        Multiplexer {
            metrics,
            addr,
            connect_timeout,
            limits,
            setup,
            slots: (0..connections.max(1))
                .map(|_| Slot {
                    conn: Mutex::new(None),
                    connecting: tokio::sync::Mutex::new(None),
                    attempts: AtomicU64::new(0),
                })
                .collect(),
        }
    }

    /// One attempt at `exchange` on a multiplexed connection, within
    /// `timeout` (`on_peer` learns which connection).
    pub async fn run<E: Exchange + ?Sized>(
        &self,
        exchange: &mut E,
        limits: &Limits,
        timeout: Duration,
        on_peer: impl FnOnce(&Peer),
    ) -> Result<(), Failure> {
        let conn = self.conn().await.map_err(Failure::sent)?;
        on_peer(&conn.peer);
        conn.run(exchange, limits, deadline_after(timeout)).await
    }

    /// A connection for the next request: the first one with fewer than
    /// [`FILL`] requests in flight, else a new one while there is room,
    /// else the least busy. So a lone caller always uses the same
    /// connection (its requests stay in order, `noreply` ones included),
    /// and concurrent callers share writes in batches of about [`FILL`].
    pub async fn conn(&self) -> Result<Arc<MuxConn>> {
        let mut free_slot = None;
        let mut least: Option<(usize, Arc<MuxConn>)> = None;
        for (index, slot) in self.slots.iter().enumerate() {
            let Some(conn) = slot.live() else {
                free_slot.get_or_insert(index);
                continue;
            };
            let load = conn.shared.load.load(Ordering::Relaxed);
            if load < FILL {
                return Ok(conn);
            }
            if least.as_ref().is_none_or(|(l, _)| load < *l) {
                least = Some((load, conn));
            }
        }
        match (free_slot, least) {
            (Some(index), _) => self.connect(&self.slots[index]).await,
            (None, Some((_, conn))) => Ok(conn),
            // Every slot is live or free; there is at least one slot.
            (None, None) => self.connect(&self.slots[0]).await,
        }
    }

    /// The slot's connection, opened or replaced.
    async fn connect(&self, slot: &Slot) -> Result<Arc<MuxConn>> {
        let seen = slot.attempts.load(Ordering::Acquire);
        let mut last_failure = slot.connecting.lock().await;
        if let Some(conn) = slot.live() {
            return Ok(conn);
        }
        // An attempt that ended while this caller waited has failed: its
        // error answers this caller too. (Trying again in turn would make
        // the callers queued on a dead server wait one connect timeout
        // each, one after the other.)
        if slot.attempts.load(Ordering::Acquire) != seen {
            if let Some(error) = last_failure.as_ref() {
                return Err(error.clone());
            }
        }
        let started = std::time::Instant::now();
        // Boxed: the connect future is large and rarely run (see `Pool::get`).
        let connected = Box::pin(
            self.setup
                .connect(&self.addr, self.connect_timeout, self.limits),
        )
        .await;
        slot.attempts.fetch_add(1, Ordering::Release);
        let conn = match connected {
            Ok(conn) => conn,
            Err(error) => {
                *last_failure = Some(error.clone());
                return Err(error);
            }
        };
        *last_failure = None;
        self.metrics.created(started.elapsed());
        let (stream, reader, peer) = conn.into_parts();
        let shared = Arc::new(Shared::new());
        tokio::spawn(Driver::new(shared.clone(), stream, reader));
        let conn = Arc::new(MuxConn { shared, peer });
        *slot.lock() = Some(conn.clone());
        Ok(conn)
    }

    /// Lets go of every connection: each closes once its queued requests
    /// are answered (`quit`).
    pub fn release_all(&self) {
        for slot in &self.slots {
            drop(slot.lock().take());
        }
    }

    /// Requests in flight on each open connection.
    pub fn loads(&self) -> Vec<usize> {
        self.slots
            .iter()
            .filter_map(|s| s.live())
            .map(|conn| conn.shared.load.load(Ordering::Relaxed))
            .collect()
    }

    /// The most connections this multiplexer opens.
    pub fn max_size(&self) -> usize {
        self.slots.len()
    }

    /// Connections open and usable now (for tests and diagnostics).
    pub fn open_count(&self) -> usize {
        self.slots.iter().filter(|s| s.live().is_some()).count()
    }
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Option<Arc<MuxConn>>> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The slot's connection unless it has ended.
    fn live(&self) -> Option<Arc<MuxConn>> {
        self.lock()
            .as_ref()
            .filter(|conn| !conn.shared.is_over())
            .cloned()
    }
}

impl MuxConn {
    /// Queues `exchange`'s request (validated or encoded here; on an
    /// encoding error nothing is queued). The receiver gets the reply.
    fn enqueue<E: Exchange + ?Sized>(
        &self,
        exchange: &E,
        limits: &Limits,
        deadline: Instant,
    ) -> Result<oneshot::Receiver<Outcome>, Failure> {
        let (reply, receiver) = oneshot::channel();
        let mut state = self.shared.state();
        if self.shared.is_over() {
            // Nothing was sent: safe to send again on a new connection.
            return Err(Failure {
                error: Error::ConnectionClosed,
                unanswered: true,
                counted: false,
            });
        }
        let was_idle = state.out.is_empty();
        if let Err(e) = exchange.encode(&mut state.out, limits) {
            return Err(Failure {
                error: e.into(),
                unanswered: false,
                counted: false,
            });
        }
        // Copied: the driver writes after the caller's borrow has ended.
        if let Some(value) = exchange.large_value() {
            state.out.extend_from_slice(value);
            state.out.extend_from_slice(b"\r\n");
        }
        let out_end = state.out.len();
        self.shared.load.fetch_add(1, Ordering::Relaxed);
        state
            .queued
            .push_back(Pending::new(exchange.reply_end(), deadline, reply, out_end));
        drop(state);
        // A driver that has not taken the earlier requests yet will take
        // this one with them.
        if was_idle {
            self.shared.waker.wake();
        }
        Ok(receiver)
    }

    /// Ends the connection for everyone: a reply the driver framed was
    /// refused by its exchange, so the stream can no longer be trusted.
    fn poison(&self) {
        self.shared.poisoned.store(true, Ordering::Release);
        self.shared.waker.wake();
    }

    /// Runs one exchange: queue the request, wait for the reply (the
    /// driver enforces `deadline`), read it (see [`Reading`]).
    async fn run<E: Exchange + ?Sized>(
        &self,
        exchange: &mut E,
        limits: &Limits,
        deadline: Instant,
    ) -> Result<(), Failure> {
        let receiver = self.enqueue(exchange, limits, deadline)?;
        let reply = match receiver.await {
            Ok(outcome) => outcome?,
            // The driver is gone without a word: its runtime shut down.
            Err(_) => {
                return Err(Failure {
                    error: Error::ConnectionClosed,
                    unanswered: false,
                    counted: true,
                })
            }
        };
        if exchange.reply_end() == ReplyEnd::Nothing {
            return Ok(());
        }
        let answer = read_reply(exchange, reply).map_err(|error| {
            // A reply the driver framed does not answer the request: the
            // stream can no longer be trusted (if the driver has not ended
            // the connection already).
            self.poison();
            Failure::sent(error)
        })?;
        answer.map_err(Failure::sent)
    }
}

/// Reads a reply the driver framed, values first (see [`driver::Reply`]),
/// as a pooled connection reads one from its socket: the outer error means
/// the stream is out of step, the inner one is the call's answer.
pub(crate) fn read_reply<E: Exchange + ?Sized>(
    exchange: &mut E,
    reply: driver::Reply,
) -> Result<Result<()>> {
    let mut reading = Reading::new(exchange);
    let mut complete = false;
    let unexpected = || Error::UnexpectedResponse {
        command: "multiplexed reply",
    };
    for value in reply.values {
        if complete {
            return Err(unexpected());
        }
        complete = reading.value(value)?;
    }
    for item in reply.items {
        if complete {
            return Err(unexpected());
        }
        complete = reading.item(item)?;
    }
    if !complete {
        return Err(unexpected());
    }
    Ok(reading.finish())
}

impl Drop for MuxConn {
    fn drop(&mut self) {
        self.shared.state().released = true;
        self.shared.waker.wake();
    }
}
