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
use std::sync::{Arc, RwLock};

use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::ingest::DEFAULT_MAX_BODY_BYTES;
use crate::persist::{PersistError, SpanLog};
use crate::server::{router, AppState};
use crate::store::{Store, StoreStats, DEFAULT_MAX_SPANS_PER_TRACE, DEFAULT_MAX_TRACES};

/// The collector could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// The listening socket could not be opened.
    #[error("could not listen: {0}")]
    Bind(std::io::Error),
    /// The span log could not be read or written.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// The HTTP server failed.
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
    max_body_bytes: usize,
    persist_path: Option<PathBuf>,
}

impl Default for CollectorBuilder {
    fn default() -> Self {
        CollectorBuilder {
            max_traces: DEFAULT_MAX_TRACES,
            max_spans_per_trace: DEFAULT_MAX_SPANS_PER_TRACE,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            persist_path: None,
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

    /// Largest accepted request body, before and after decompression.
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }

    /// Appends received spans to this JSON-lines file and reloads it at start.
    pub fn persist_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.persist_path = Some(path.into());
        self
    }

    /// Loads the span log (if any), binds `addr` and starts serving in a
    /// background task. The collector accepts requests once this returns.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> Result<RunningCollector, CollectorError> {
        let mut store = Store::new(self.max_traces, self.max_spans_per_trace);
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
        let state = AppState {
            store: Arc::new(RwLock::new(store)),
            log,
            max_body_bytes: self.max_body_bytes,
        };
        let app = router(state.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A dropped sender also means stop.
                    let _ = stop_rx.await;
                })
                .await
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
