//! The accept loop: HTTP/1.1 connections served with a cap on how many are
//! open at once and a deadline on every request head.
//!
//! `axum::serve` applies neither, so a client that opens connections and
//! never finishes its headers holds them forever. Here a connection must
//! deliver a complete request head within [`Limits::header_timeout`], which
//! hyper also applies while an idle keep-alive connection waits for its next
//! request. Beyond [`Limits::max_connections`] open connections, a new
//! connection is answered `503` with `Retry-After` and closed at once, so
//! no connection waits unbounded (exporters retry on 503). A client that
//! stops reading its answer is dropped after [`Limits::write_timeout`]
//! ([`crate::write_deadline`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::limits::Limits;
use crate::write_deadline::WriteDeadline;

/// Largest request head hyper buffers for one connection; it bounds the
/// memory a slow client can pin per connection.
const MAX_HEAD_BUFFER: usize = 64 * 1024;
/// The whole answer to a connection beyond the cap.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Type: text/plain\r\nContent-Length: 29\r\n\r\ntoo many connections; retry\r\n";
/// How long in-flight requests may take to finish after shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` completes, then lets open
/// requests finish (at most five seconds).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD_BUFFER)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // A fresh socket's send buffer is empty, so one non-blocking
            // write suffices; the connection closes when dropped.
            let _ = stream.try_write(BUSY);
            // Closing with unread bytes would reset the connection before
            // the client reads the 503; take what has arrived.
            let _ = stream.try_read(&mut [0u8; 4096]);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let io = WriteDeadline::new(TokioIo::new(stream), limits.write_timeout);
        let connection = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period");
    }
    Ok(())
}
