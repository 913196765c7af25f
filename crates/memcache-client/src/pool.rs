//! A bounded pool of connections to one server.
//!
//! Own design rather than deadpool/bb8, because the two properties that
//! matter here are simplest to get right by hand: a semaphore bounds the
//! number of connections (permits are released on drop, so a cancelled
//! caller never leaks one), and idle connections sit in a `Mutex<Vec<_>>`
//! held only for a push or a pop. A connection goes back to the idle list
//! only if it is in step with the server ([`Conn::is_reusable`]); a
//! timed-out, failed or cancelled one is dropped, which closes it.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use memcache_codec::Limits;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use std::sync::Arc;

use crate::conn::{Conn, Peer};
use crate::exchange::Exchange;
use crate::metrics::ServerMetrics;
use crate::policy::{deadline_after, Failure};
use crate::setup::ConnSetup;
use crate::{Error, Result, ServerAddr};

pub(crate) struct Pool {
    addr: ServerAddr,
    /// Boxed: a connection moves in and out of this list on every call,
    /// and a box moves as one pointer (a `Conn` is 160 bytes).
    #[allow(clippy::vec_box, reason = "connections are moved on every call")]
    idle: Mutex<Vec<Box<Conn>>>,
    permits: Semaphore,
    connect_timeout: Duration,
    wait_timeout: Duration,
    limits: Limits,
    setup: ConnSetup,
    max_size: usize,
    metrics: Arc<ServerMetrics>,
    /// See [`Pool::unsolicited_count`].
    unsolicited: AtomicU64,
    /// Callers waiting for a slot now (`db.client.connection.pending_requests`,
    /// read when metrics are collected: a wait costs two atomic adds, not
    /// two measurements).
    waiting: AtomicUsize,
}

/// A checked-out connection; returns to the pool on drop if reusable.
pub(crate) struct PooledConn<'a> {
    conn: Option<Box<Conn>>,
    pool: &'a Pool,
    _permit: SemaphorePermit<'a>,
    /// Taken from the idle list (as opposed to freshly connected).
    pub reused: bool,
}

impl Pool {
    pub fn new(
        addr: ServerAddr,
        max_size: usize,
        connect_timeout: Duration,
        wait_timeout: Duration,
        limits: Limits,
        setup: ConnSetup,
        metrics: Arc<ServerMetrics>,
    ) -> Pool {
        Pool {
            addr,
            idle: Mutex::new(Vec::with_capacity(max_size)),
            permits: Semaphore::new(max_size),
            connect_timeout,
            wait_timeout,
            limits,
            setup,
            max_size,
            metrics,
            unsolicited: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
        }
    }

    #[allow(clippy::vec_box, reason = "see `Pool::idle`")]
    fn idle(&self) -> MutexGuard<'_, Vec<Box<Conn>>> {
        // Nothing panics while the lock is held, but never propagate poison.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One attempt at `exchange` on a connection of the pool, with its full
    /// `timeout` from the moment it has a connection (`on_peer` learns
    /// which). A timed-out, failed or cancelled exchange drops its
    /// connection mid-flight: never reused.
    ///
    /// A connection taken from the idle list that fails before any
    /// response byte arrives was closed by the server while idle (a
    /// restart): the idle list is cleared and the failure reported as
    /// unanswered, safe to send again on a new connection.
    pub async fn run<E: Exchange + ?Sized>(
        &self,
        exchange: &mut E,
        limits: &Limits,
        timeout: Duration,
        on_peer: impl FnOnce(&Peer),
    ) -> Result<(), Failure> {
        let mut conn = self.get().await.map_err(Failure::sent)?;
        on_peer(&conn.peer);
        let deadline = deadline_after(timeout);
        let Err(error) = conn.run_until(exchange, limits, deadline).await else {
            return Ok(());
        };
        let broken = error.is_connection_dropped();
        let unanswered = broken && conn.reused && !conn.received_any();
        drop(conn);
        // A broken socket suggests the server went away, taking the other
        // idle connections with it; a timeout does not.
        if broken {
            self.clear_idle();
        }
        Err(Failure {
            error,
            unanswered,
            counted: true,
        })
    }

    /// An idle connection, or a new one; waits at most the pool wait timeout
    /// for a free slot (a timer is registered only when it has to wait).
    pub async fn get(&self) -> Result<PooledConn<'_>> {
        let permit = match self.permits.try_acquire() {
            // No wait (recorded as such, without reading the clock).
            Ok(permit) => {
                self.metrics.waited(Duration::ZERO);
                permit
            }
            // A zero wait means "do not wait" (a zero timer would still
            // wait for the next timer tick).
            Err(_) if self.wait_timeout.is_zero() => {
                self.metrics.wait_timed_out();
                return Err(Error::PoolTimeout);
            }
            Err(_) => self.wait_for_permit().await?,
        };
        let idle = self.quiet_idle();
        let connect_started = idle.is_none().then(Instant::now);
        let (conn, reused) = match idle {
            Some(conn) => (conn, true),
            // Boxed: the connect future (TLS handshake, authentication) is
            // large, and inline it would be moved on every call, connecting
            // or not; connecting is rare and costs far more than a box.
            None => (
                Box::new(
                    Box::pin(
                        self.setup
                            .connect(&self.addr, self.connect_timeout, self.limits),
                    )
                    .await?,
                ),
                false,
            ),
        };
        if let Some(started) = connect_started {
            self.metrics.created(started.elapsed());
        }
        Ok(PooledConn {
            conn: Some(conn),
            pool: self,
            _permit: permit,
            reused,
        })
    }

    /// The most recently used idle connection whose server has kept quiet
    /// since ([`Conn::is_quiet`]); the others are closed and counted.
    #[allow(clippy::vec_box, reason = "see `Pool::idle`")]
    fn quiet_idle(&self) -> Option<Box<Conn>> {
        loop {
            let mut conn = self.idle().pop()?;
            if conn.is_quiet() {
                return Some(conn);
            }
            self.unsolicited.fetch_add(1, Ordering::Relaxed);
            self.metrics.unsolicited();
            tracing::warn!(
                server = %self.addr,
                "idle memcached connection received data or was closed unasked; discarded"
            );
        }
    }

    /// Idle connections found out of step at checkout and closed.
    pub fn unsolicited_count(&self) -> u64 {
        self.unsolicited.load(Ordering::Relaxed)
    }

    /// Waits at most the pool wait timeout for a free slot, counted as a
    /// pending request meanwhile.
    async fn wait_for_permit(&self) -> Result<SemaphorePermit<'_>> {
        let started = Instant::now();
        let pending = Pending::new(&self.waiting);
        let deadline = deadline_after(self.wait_timeout);
        let acquired = tokio::time::timeout_at(deadline, self.permits.acquire()).await;
        drop(pending);
        match acquired {
            // The semaphore is never closed.
            Ok(Ok(permit)) => {
                self.metrics.waited(started.elapsed());
                Ok(permit)
            }
            Ok(Err(_)) | Err(_) => {
                self.metrics.wait_timed_out();
                Err(Error::PoolTimeout)
            }
        }
    }

    /// Connections checked out or being opened (each holds a permit).
    pub fn used_count(&self) -> usize {
        self.max_size - self.permits.available_permits()
    }

    /// Callers waiting for a free slot now.
    pub fn waiting_count(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// The most connections this pool opens.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// Closes every idle connection (after a connection failure they are
    /// most likely dead too, for example after a server restart).
    pub fn clear_idle(&self) {
        drop(self.take_idle());
    }

    /// Takes every idle connection out of the pool (for `quit`).
    #[allow(clippy::vec_box, reason = "see `Pool::idle`")]
    pub fn take_idle(&self) -> Vec<Box<Conn>> {
        std::mem::take(&mut *self.idle())
    }

    /// Number of idle connections (for tests and diagnostics).
    pub fn idle_count(&self) -> usize {
        self.idle().len()
    }
}

/// A caller waiting for a connection, counted in [`Pool::waiting_count`]
/// until dropped (also when the caller is cancelled while it waits).
struct Pending<'a>(&'a AtomicUsize);

impl<'a> Pending<'a> {
    fn new(waiting: &'a AtomicUsize) -> Pending<'a> {
        waiting.fetch_add(1, Ordering::Relaxed);
        Pending(waiting)
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Deref for PooledConn<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        // Only `Drop` takes the connection out.
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for PooledConn<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for PooledConn<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if conn.is_reusable() {
                self.pool.idle().push(conn);
            }
        }
    }
}
