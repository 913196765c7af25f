//! The client's typed errors.
//!
//! Cache misses and "not stored"-style answers are outcomes, not errors (see
//! [`crate::outcome`]). Messages never contain keys or values: errors end up
//! in logs and span attributes.

use memcache_codec::{DecodeError, EncodeError, KeyError};
use std::sync::Arc;

use thiserror::Error;

/// Everything a client call can fail with.
///
/// `Clone`, so that one failure can be handed to every caller it ended (an
/// `io::Error` is shared behind an `Arc`).
#[derive(Clone, Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed (connect refused, reset, broken pipe, ...).
    #[error("I/O error: {0}")]
    Io(#[source] Arc<std::io::Error>),
    /// The server closed the connection before the response was complete.
    #[error("connection closed by the server")]
    ConnectionClosed,
    /// No connection could be made within the connect timeout.
    #[error("connect timed out")]
    ConnectTimeout,
    /// The request/response exchange did not finish within the operation timeout.
    #[error("operation timed out")]
    Timeout,
    /// The response stream could not be parsed; the connection was dropped.
    #[error("protocol error: {0}")]
    Protocol(#[from] DecodeError),
    /// A well-formed response that does not answer the request that was sent.
    #[error("unexpected response to {command}")]
    UnexpectedResponse {
        /// The command that was sent.
        command: &'static str,
    },
    /// `SERVER_ERROR <message>`.
    #[error("server error: {0}")]
    Server(String),
    /// `CLIENT_ERROR <message>`: the server refused the request as malformed.
    #[error("client error reported by server: {0}")]
    Client(String),
    /// `ERROR`: the server does not know the command.
    #[error("server does not support the command")]
    UnknownCommand,
    /// The multiplexed connection carrying the request ended because of an
    /// earlier request's reply (`ERROR`, `CLIENT_ERROR`, a malformed
    /// reply); the request may or may not have been carried out.
    #[error("multiplexed connection ended by an earlier request's failure")]
    Aborted,
    /// The key was refused before anything was sent.
    #[error("invalid key: {0}")]
    InvalidKey(#[from] KeyError),
    /// The value is larger than the configured limit; nothing was sent.
    #[error("value is {len} bytes; the limit is {limit}")]
    ValueTooLarge {
        /// The value's length.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A request argument the protocol cannot carry (for example no keys).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// No pooled connection became free within the pool wait timeout.
    #[error("timed out waiting for a pooled connection")]
    PoolTimeout,
    /// The key's server is marked dead and failover is off.
    #[error("server is marked dead after repeated failures")]
    ServerMarkedDead,
    /// Every server is marked dead (or none is configured).
    #[error("no server available")]
    NoServerAvailable,
    /// The client configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The server refused the credentials (ASCII authentication, `-Y`).
    #[error("authentication failed")]
    AuthFailed,
    /// The TLS handshake failed: unknown CA, wrong server name, a peer that
    /// does not speak TLS, ...
    #[error("TLS error: {0}")]
    Tls(String),
    /// A stored value is not of the requested type, or a value cannot be
    /// encoded ([`Client::get_as`](crate::Client::get_as),
    /// [`Client::set_as`](crate::Client::set_as)).
    #[error(transparent)]
    Value(#[from] crate::ValueError),
    /// A `memcache://` URL names no usable configuration; the
    /// [`UrlError`](crate::UrlError) says which part is wrong.
    #[error("invalid URL: {0}")]
    Url(#[from] crate::UrlError),
}

impl Error {
    /// A short, stable name of the variant, used as the span's `error.type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Io(_) => "io",
            Error::ConnectionClosed => "connection_closed",
            Error::ConnectTimeout => "connect_timeout",
            Error::Timeout => "timeout",
            Error::Protocol(_) => "protocol",
            Error::UnexpectedResponse { .. } => "unexpected_response",
            Error::Server(_) => "server_error",
            Error::Client(_) => "client_error",
            Error::UnknownCommand => "unknown_command",
            Error::Aborted => "aborted",
            Error::InvalidKey(_) => "invalid_key",
            Error::ValueTooLarge { .. } => "value_too_large",
            Error::InvalidArgument(_) => "invalid_argument",
            Error::PoolTimeout => "pool_timeout",
            Error::ServerMarkedDead => "server_marked_dead",
            Error::NoServerAvailable => "no_server_available",
            Error::Config(_) => "config",
            Error::AuthFailed => "auth_failed",
            Error::Tls(_) => "tls",
            Error::Value(_) => "value",
            Error::Url(_) => "url",
        }
    }

    /// Whether the call ran out of time: connecting, waiting for a pooled
    /// connection, or exchanging the request and reply.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::Timeout | Error::ConnectTimeout | Error::PoolTimeout
        )
    }

    /// Whether the connection ended underneath the call (reset, broken
    /// pipe, the server closing it): typical of a server restart.
    pub fn is_connection_dropped(&self) -> bool {
        matches!(self, Error::Io(_) | Error::ConnectionClosed)
    }

    /// Whether calling again may succeed: a transient failure of the
    /// network, a server or the pool, not a refused or malformed request,
    /// a protocol violation or a bad configuration. A command that is not
    /// idempotent (`incr`, `append`, ...) may have been carried out by the
    /// failed call.
    pub fn is_retryable(&self) -> bool {
        self.is_timeout()
            || self.is_connection_dropped()
            || matches!(
                self,
                Error::Aborted | Error::ServerMarkedDead | Error::NoServerAvailable
            )
    }

    /// Whether the failure happened while connecting, so that the request
    /// was certainly never sent: a refused connection (a refusal only
    /// answers a connect) or a connect timeout.
    pub(crate) fn is_connect_failure(&self) -> bool {
        match self {
            Error::ConnectTimeout => true,
            Error::Io(e) => e.kind() == std::io::ErrorKind::ConnectionRefused,
            _ => false,
        }
    }

    /// Whether the failure says something about the server's health (and so
    /// counts towards marking it dead), as opposed to a refused request.
    pub(crate) fn is_server_failure(&self) -> bool {
        matches!(
            self,
            Error::Io(_) | Error::ConnectionClosed | Error::ConnectTimeout | Error::Timeout
        )
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(Arc::new(e))
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Self {
        match e {
            EncodeError::Key(k) => Error::InvalidKey(k),
            EncodeError::ValueTooLarge { len, limit } => Error::ValueTooLarge { len, limit },
            EncodeError::NoKeys => Error::InvalidArgument("a retrieval needs at least one key"),
            EncodeError::InvalidArgument(what) => Error::InvalidArgument(what),
        }
    }
}

/// `Result` with the client's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_stable_and_messages_carry_no_user_data() {
        let e = Error::from(EncodeError::Key(KeyError::InvalidByte { position: 1 }));
        assert_eq!(e.kind(), "invalid_key");
        assert_eq!(
            e.to_string(),
            "invalid key: key has a space or control character at byte 1"
        );
        assert_eq!(Error::Timeout.kind(), "timeout");
        assert!(Error::Timeout.is_server_failure());
        assert!(!Error::Server("out of memory".into()).is_server_failure());
    }

    #[test]
    fn classifies_timeouts_drops_and_retryable_failures() {
        let reset = Error::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(reset.is_connection_dropped() && reset.is_retryable() && !reset.is_timeout());
        assert!(Error::ConnectionClosed.is_connection_dropped());
        for e in [Error::Timeout, Error::ConnectTimeout, Error::PoolTimeout] {
            assert!(e.is_timeout() && e.is_retryable() && !e.is_connection_dropped());
        }
        for e in [
            Error::Aborted,
            Error::ServerMarkedDead,
            Error::NoServerAvailable,
        ] {
            assert!(e.is_retryable() && !e.is_timeout(), "{e:?}");
        }
        for e in [
            Error::UnknownCommand,
            Error::Client("bad data chunk".into()),
            Error::Server("out of memory".into()),
            Error::AuthFailed,
            Error::Config("x".into()),
            Error::InvalidArgument("x"),
            Error::UnexpectedResponse { command: "get" },
        ] {
            assert!(
                !e.is_retryable() && !e.is_timeout() && !e.is_connection_dropped(),
                "{e:?}"
            );
        }
    }

    #[test]
    fn a_clone_keeps_the_io_error() {
        let e = Error::from(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe"));
        let c = e.clone();
        assert_eq!(c.to_string(), e.to_string());
        assert!(matches!(&c, Error::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe));
    }
}
