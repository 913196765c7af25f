//! The client's policy, decided here once for both connection modes: how
//! long an exchange may take ([`deadline_after`]), what a failed attempt
//! means ([`Failure`]), whether it is tried again ([`Attempts`]), and when
//! a server is marked dead or alive ([`Health`]).
//!
//! The connection modes report what happened (a pooled connection in
//! [`crate::pool::Pool::run`], a multiplexed one's driver in
//! [`crate::mux`]); the client's one retry loop
//! ([`crate::client::Client`]'s `execute`) applies this policy.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use tokio::time::Instant;

use crate::Error;

/// `now + after`, saturating like tokio's own `timeout`: a huge timeout
/// means "practically never", not an overflow panic.
pub(crate) fn deadline_after(after: Duration) -> Instant {
    /// About 30 years, what tokio uses for "never".
    const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);
    let now = Instant::now();
    now.checked_add(after).unwrap_or_else(|| now + FAR_FUTURE)
}

/// An attempt at an exchange that got no reply.
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: Error,
    /// Sending the request again on a new connection is safe: it was never
    /// written, or the connection had answered earlier requests and nothing
    /// arrived after this one was written, so the server most likely
    /// closed it before reading the request (a restart).
    pub unanswered: bool,
    /// Whether this failure may say something about the server's health
    /// (if its error does, see [`Error::is_server_failure`]). A timeout on
    /// a multiplexed connection counts once, for the request that timed
    /// out, not again for each request queued behind it.
    pub counted: bool,
}

impl Failure {
    /// A failure that may have reached the server: not sent again, and
    /// counted if its error says something about the server.
    pub fn sent(error: Error) -> Failure {
        Failure {
            error,
            unanswered: false,
            counted: true,
        }
    }
}

/// The attempts at one exchange on one server: one more, on a new
/// connection, when the request most likely never reached the server
/// (nothing else is ever sent twice: a command that is not idempotent may
/// have been carried out).
#[derive(Default)]
pub(crate) struct Attempts {
    retried: bool,
}

impl Attempts {
    /// After a failed attempt: `None` to try again, or the failure to
    /// report.
    pub fn after(&mut self, failure: Failure) -> Option<Failure> {
        if failure.unanswered && !self.retried {
            self.retried = true;
            return None;
        }
        Some(failure)
    }
}

/// Whether a server may be called: a run of `threshold` consecutive
/// failures (IO errors, timeouts) marks it dead until `retry_after` has
/// passed; after that one call is let through, and a single further
/// failure marks it dead again while a success revives it fully.
///
/// Two atomics, so the hot path reads it without locking.
pub(crate) struct Health {
    /// The client's clock origin; times are milliseconds since it, plus one
    /// so that 0 can mean "alive".
    epoch: std::time::Instant,
    failures: AtomicU32,
    dead_until_ms: AtomicU64,
    threshold: u32,
    retry_after: Duration,
}

impl Health {
    pub fn new(epoch: std::time::Instant, threshold: u32, retry_after: Duration) -> Health {
        Health {
            epoch,
            failures: AtomicU32::new(0),
            dead_until_ms: AtomicU64::new(0),
            threshold: threshold.max(1),
            retry_after,
        }
    }

    /// Whether calls may go to the server now.
    pub fn is_live(&self) -> bool {
        let until = self.dead_until_ms.load(Relaxed);
        until == 0 || self.now_ms() >= until
    }

    /// A call succeeded: `true` if that revives a server marked dead.
    pub fn success(&self) -> bool {
        // Loads first: the common case writes nothing (no cache-line traffic).
        if self.failures.load(Relaxed) != 0 {
            self.failures.store(0, Relaxed);
        }
        if self.dead_until_ms.load(Relaxed) != 0 {
            self.dead_until_ms.store(0, Relaxed);
            return true;
        }
        false
    }

    /// A call failed in a way that tells of the server's health: `true` if
    /// that marks it dead.
    pub fn failure(&self) -> bool {
        let failures = self.failures.fetch_add(1, Relaxed) + 1;
        if failures < self.threshold {
            return false;
        }
        let retry_ms = u64::try_from(self.retry_after.as_millis()).unwrap_or(u64::MAX);
        self.dead_until_ms
            .store(self.now_ms().saturating_add(retry_ms.max(1)), Relaxed);
        // One more failure after the retry interval re-marks it dead.
        self.failures.store(self.threshold - 1, Relaxed);
        true
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(unanswered: bool) -> Failure {
        Failure {
            error: Error::ConnectionClosed,
            unanswered,
            counted: true,
        }
    }

    #[test]
    fn only_an_unanswered_request_is_sent_again_and_only_once() {
        let mut attempts = Attempts::default();
        assert!(attempts.after(failure(false)).is_some());
        let mut attempts = Attempts::default();
        assert!(attempts.after(failure(true)).is_none());
        assert!(attempts.after(failure(true)).is_some());
    }

    #[test]
    fn a_server_dies_at_the_threshold_and_a_success_revives_it() {
        let health = Health::new(std::time::Instant::now(), 2, Duration::from_secs(60));
        assert!(!health.failure());
        assert!(health.is_live());
        assert!(health.failure());
        assert!(!health.is_live());
        assert!(health.success());
        assert!(health.is_live());
        assert!(!health.success());
    }

    #[test]
    fn a_dead_server_is_tried_again_after_the_interval_and_one_failure_kills_it() {
        let health = Health::new(std::time::Instant::now(), 3, Duration::from_millis(1));
        for _ in 0..3 {
            health.failure();
        }
        std::thread::sleep(Duration::from_millis(5));
        assert!(health.is_live());
        assert!(
            health.failure(),
            "one failure after the interval re-marks it"
        );
    }

    #[test]
    fn a_huge_timeout_saturates() {
        let deadline = deadline_after(Duration::MAX);
        assert!(deadline > Instant::now() + Duration::from_secs(86_400 * 365));
    }
}
