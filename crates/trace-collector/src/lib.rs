//! A small trace collector that speaks Zipkin's API, with a web viewer.
//!
//! It receives spans as Zipkin v2 JSON (`POST /api/v2/spans`, optionally
//! gzip-compressed) and as OTLP/HTTP (`POST /v1/traces`, protobuf or JSON),
//! and metrics as OTLP/HTTP (`POST /v1/metrics`); keeps a bounded amount of
//! both in memory (spans optionally in a JSON-lines file too; see
//! [`limits`]); answers Zipkin's query API (`/api/v2/services`,
//! `/api/v2/spans`, `/api/v2/traces`, `/api/v2/trace/{id}`,
//! `/api/v2/traceMany`) and `/api/metrics`; refuses cross-site browser
//! writes and, optionally, writes without a token ([`guard`]); and serves a
//! waterfall viewer at `/`. [`client`] renders a stored trace as a text tree
//! for terminals.
//!
//! From synchronous code, such as a demo task:
//!
//! ```no_run
//! use trace_collector::{render_latest, Collector, TraceFilter};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = tokio::runtime::Runtime::new()?;
//! let collector = runtime.block_on(Collector::builder().max_traces(200).bind("127.0.0.1:9411"))?;
//! // ... run the instrumented program, exporting to collector.zipkin_endpoint()
//! // or collector.otlp_endpoint(), and flush its tracer provider ...
//! println!("{}", render_latest(&collector.base_url(), &TraceFilter::root("sqrt.batch"))?);
//! runtime.block_on(collector.shutdown())?;
//! # Ok(()) }
//! ```

pub mod analysis;
pub mod batch;
pub mod client;
pub mod collector;
pub mod guard;
pub mod ingest;
pub mod limits;
pub mod listener;
pub mod malloc;
pub mod metric_store;
pub mod metrics;
pub mod model;
pub mod otlp;
pub mod otlp_estimate;
pub mod persist;
pub mod query;
pub mod server;
pub mod store;
pub mod tree;
mod web;
pub mod write_deadline;

pub use client::{
    fetch_cache_metrics, fetch_dependencies, fetch_trace, find_latest_trace, render_latest,
    render_trace, wait_for_trace, ClientError, TraceFilter,
};
pub use collector::{Collector, CollectorBuilder, CollectorError, RunningCollector};
pub use limits::Limits;
pub use model::{Annotation, Endpoint, Kind, Span};
pub use query::TraceQuery;
pub use store::{Store, StoreStats};
pub use tree::{render_tree, root_span};
