//! Embedding API: configure a collector, bind it, and shut it down.
//!
//! ```no_run
//! # async fn demo() -> Result<(), trace_collector::CollectorError> {
//! let running = trace_collector::Collector::builder()
//!     .max_traces(500)
//!     .bind("127.0.0.1:0")
//!     .await?;
//! println!("Zipkin endpoint: {}/api/v2/spans", running.base_url());
//! running.shutdown().await?;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::analysis::DEFAULT_AUTOCOMPLETE_KEYS;
use crate::limits::Limits;
use crate::listener;
use crate::persist::{PersistError, SpanLog};
use crate::server::{router, AppState};
use crate::store::{
    Store, StoreStats, DEFAULT_MAX_BYTES, DEFAULT_MAX_SPANS_PER_TRACE, DEFAULT_MAX_TRACES,
};

/// The collector could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// The listening socket could not be bound.
    #[error("could not listen: {0}")]
    Bind(std::io::Error),
    /// The span log could not be read or written.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// The accept loop failed.
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    /// The server task panicked or was cancelled.
    #[error("server task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Entry point of the embedding API.
#[derive(Debug, Clone, Copy)]
pub struct Collector;

impl Collector {
    /// Starts configuring a collector with the defaults.
    pub fn builder() -> CollectorBuilder {
        CollectorBuilder::default()
    }
}

/// Collector settings; finish with [`CollectorBuilder::bind`].
#[derive(Debug, Clone)]
pub struct CollectorBuilder {
    max_traces: usize,
    max_spans_per_trace: usize,
    max_bytes: usize,
    limits: Limits,
    ingest_token: Option<String>,
    persist_path: Option<PathBuf>,
    autocomplete_keys: Vec<String>,
}

impl Default for CollectorBuilder {
    fn default() -> Self {
        CollectorBuilder {
            max_traces: DEFAULT_MAX_TRACES,
            max_spans_per_trace: DEFAULT_MAX_SPANS_PER_TRACE,
            max_bytes: DEFAULT_MAX_BYTES,
            limits: Limits::default(),
            ingest_token: None,
            persist_path: None,
            autocomplete_keys: DEFAULT_AUTOCOMPLETE_KEYS
                .iter()
                .map(|k| (*k).to_owned())
                .collect(),
        }
    }
}

impl CollectorBuilder {
    /// Most traces held in memory; the oldest is dropped beyond this (min 1).
    pub fn max_traces(mut self, n: usize) -> Self {
        self.max_traces = n;
        self
    }

    /// Most spans held for one trace; later ones are dropped (min 1).
    pub fn max_spans_per_trace(mut self, n: usize) -> Self {
        self.max_spans_per_trace = n;
        self
    }

    /// Byte budget of the store; the oldest traces are evicted beyond it.
    pub fn max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = n;
        self
    }

    /// Largest accepted request body, before and after decompression.
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.limits.max_body_bytes = n;
        self
    }

    /// Longest tag value (and annotation value, name, endpoint string) kept;
    /// longer ones are cut and end with a truncation marker.
    pub fn max_value_bytes(mut self, n: usize) -> Self {
        self.limits.max_value_bytes = n;
        self
    }

    /// Most memory the decoded spans of one request may take; a bigger
    /// batch is refused with 413.
    pub fn max_batch_bytes(mut self, n: usize) -> Self {
        self.limits.max_batch_bytes = n;
        self
    }

    /// Byte budget of the metric store; the series updated least recently
    /// are evicted beyond it.
    pub fn max_metric_bytes(mut self, n: usize) -> Self {
        self.limits.max_metric_bytes = n;
        self
    }

    /// Most metric series held (min 1).
    pub fn max_metric_series(mut self, n: usize) -> Self {
        self.limits.max_metric_series = n;
        self
    }

    /// Points kept per metric series (min 1).
    pub fn max_points_per_series(mut self, n: usize) -> Self {
        self.limits.max_points_per_series = n;
        self
    }

    /// Most request bodies buffered and decoded at once (min 1).
    pub fn max_concurrent_ingests(mut self, n: usize) -> Self {
        self.limits.max_concurrent_ingests = n;
        self
    }

    /// Most connections open at once (min 1).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.limits.max_connections = n;
        self
    }

    /// Time a connection has to send a complete request head, and the
    /// longest a keep-alive connection may sit idle between requests.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_timeout = timeout;
        self
    }

    /// Time a client has to send a whole request body.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_timeout = timeout;
        self
    }

    /// Time a write may stay blocked (the client not reading its answer)
    /// before the connection is dropped.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.limits.write_timeout = timeout;
        self
    }

    /// Requires `Authorization: Bearer <token>` on the ingest routes.
    pub fn ingest_token(mut self, token: impl Into<String>) -> Self {
        self.ingest_token = Some(token.into());
        self
    }

    /// Appends received spans to this JSON-lines file and reloads it at start.
    pub fn persist_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.persist_path = Some(path.into());
        self
    }

    /// Tag keys whose values `/api/v2/autocompleteValues` offers (Zipkin's
    /// `AUTOCOMPLETE_KEYS`); defaults to [`DEFAULT_AUTOCOMPLETE_KEYS`].
    pub fn autocomplete_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.autocomplete_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Loads the span log (if any), binds `addr` and starts serving in a
    /// background task. The collector accepts requests once this returns.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> Result<RunningCollector, CollectorError> {
        let mut store =
            Store::new(self.max_traces, self.max_spans_per_trace).with_max_bytes(self.max_bytes);
        let log = match &self.persist_path {
            None => None,
            Some(path) => {
                let path = path.clone();
                let (log, report, loaded) = tokio::task::spawn_blocking(move || {
                    SpanLog::open(&path, &mut store).map(|(log, report)| (log, report, store))
                })
                .await??;
                store = loaded;
                tracing::info!(
                    path = %log.path().display(),
                    spans = report.spans_read,
                    skipped_lines = report.lines_skipped,
                    "replayed span log"
                );
                Some(Arc::new(log))
            }
        };
        let listener = TcpListener::bind(addr)
            .await
            .map_err(CollectorError::Bind)?;
        let addr = listener.local_addr().map_err(CollectorError::Bind)?;
        let state = AppState::new(
            store,
            log,
            self.limits,
            self.ingest_token,
            self.autocomplete_keys.into(),
        );
        let app = router(state.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let limits = self.limits;
        let task = tokio::spawn(async move {
            // A dropped sender also means stop.
            let stop = async {
                let _ = stop_rx.await;
            };
            listener::serve(listener, app, limits, stop).await
        });
        tracing::info!(%addr, "trace collector listening");
        Ok(RunningCollector {
            addr,
            state,
            stop: Some(stop_tx),
            task: Some(task),
        })
    }
}

/// A collector serving in the background; stops when shut down or dropped.
#[derive(Debug)]
pub struct RunningCollector {
    addr: SocketAddr,
    state: AppState,
    /// Sending on it, or dropping it (with the collector), stops the server.
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningCollector {
    /// The address actually bound (useful after binding port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, the base for every route.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The Zipkin intake URL, for exporters.
    pub fn zipkin_endpoint(&self) -> String {
        format!("{}/api/v2/spans", self.base_url())
    }

    /// The OTLP/HTTP traces URL, for exporters.
    pub fn otlp_endpoint(&self) -> String {
        format!("{}/v1/traces", self.base_url())
    }

    /// Counters of what the collector holds.
    pub fn stats(&self) -> StoreStats {
        self.state.read().stats()
    }

    /// Waits until the server stops on its own (it normally does not).
    pub async fn wait(mut self) -> Result<(), CollectorError> {
        self.join().await
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits.
    pub async fn shutdown(mut self) -> Result<(), CollectorError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.join().await
    }

    async fn join(&mut self) -> Result<(), CollectorError> {
        match self.task.take() {
            Some(task) => task.await?.map_err(CollectorError::Serve),
            None => Ok(()),
        }
    }
}
