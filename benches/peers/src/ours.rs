//! Our client (`memcache-client`) as a benchmarked system, in one of the
//! three tracing modes, with its metrics off (no-op instruments) or on.
//!
//! The client takes its OpenTelemetry instruments from the *global* meter
//! provider when it is built. No provider is installed until the "metrics
//! on" systems are built, last (see `main.rs`), so every other client holds
//! OpenTelemetry's no-op instruments; each "metrics on" system installs its
//! own SDK meter provider (periodic reader over an in-memory exporter, as
//! `traced_telemetry::testing::InMemoryMetrics` sets it up) right before
//! building its client, so its figures are its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use memcache_client::{Client, ConnectionMode, StoreOptions, StoreOutcome};
use tokio::runtime::Runtime;
use traced_telemetry::opentelemetry;
use traced_telemetry::testing::{InMemoryMetrics, PointValue};

use crate::system::{expect_hit, BenchError, System};
use crate::tracing_modes::{Tracing, TracingMode};
use crate::workload::{concurrent_is_set, concurrent_key, Data, Workload, CONCURRENCY, POOL_SIZE};

pub struct Ours {
    name: String,
    client: Client,
    data: Arc<Data>,
    // Field order: the runtime (and its threads' dispatcher guards) goes
    // before the tracer provider is shut down.
    runtime: Runtime,
    tracing: Tracing,
    /// Client calls made so far (one span each).
    calls: u64,
    /// The meter provider this client's instruments record into (metrics
    /// on); `None`: no-op instruments.
    metrics: Option<InMemoryMetrics>,
}

impl Ours {
    pub fn new(
        addr: std::net::SocketAddr,
        mode: TracingMode,
        connections: ConnectionMode,
        data: Arc<Data>,
    ) -> Result<Ours, BenchError> {
        Ours::build(addr, mode, connections, data, None)
    }

    /// Untraced, with real metrics: installs a fresh SDK meter provider as
    /// the global one, then builds the client (which takes its instruments
    /// from it). Every client built earlier keeps the instruments it got.
    pub fn with_metrics(
        addr: std::net::SocketAddr,
        connections: ConnectionMode,
        data: Arc<Data>,
    ) -> Result<Ours, BenchError> {
        let metrics = InMemoryMetrics::new();
        opentelemetry::global::set_meter_provider(metrics.provider().clone());
        Ours::build(addr, TracingMode::Off, connections, data, Some(metrics))
    }

    fn build(
        addr: std::net::SocketAddr,
        mode: TracingMode,
        connections: ConnectionMode,
        data: Arc<Data>,
        metrics: Option<InMemoryMetrics>,
    ) -> Result<Ours, BenchError> {
        let tracing = Tracing::new(mode);
        let runtime = tracing.runtime()?;
        let name = match metrics {
            Some(_) => metrics_name(connections),
            None => name(mode, connections),
        };
        let client = Client::builder()
            .server_addr(addr)
            .connection_mode(connections)
            .max_connections_per_server(POOL_SIZE)
            .operation_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| BenchError::system(mode.label(), e))?;
        Ok(Ours {
            name,
            client,
            data,
            runtime,
            tracing,
            calls: 0,
            metrics,
        })
    }
}

/// The system's name: the tracing mode, and the connection mode unless it
/// is the default (exclusive pooled connections).
pub fn name(mode: TracingMode, connections: ConnectionMode) -> String {
    match connections {
        ConnectionMode::Multiplexed => format!("{} (multiplexed)", mode.label()),
        _ => mode.label().to_string(),
    }
}

/// The name of the untraced system with real metrics.
pub fn metrics_name(connections: ConnectionMode) -> String {
    name(TracingMode::Off, connections).replacen(
        TracingMode::Off.label(),
        "ours: no subscriber, metrics on",
        1,
    )
}

impl System for Ours {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&mut self, workload: Workload, ops: usize) -> Result<Duration, BenchError> {
        let client = self.client.clone();
        let data = self.data.clone();
        let name = self.name.clone();
        // Spawned, not run inside block_on: the work then runs on a worker
        // thread, which has this mode's dispatcher.
        self.calls += ops as u64;
        let task = self.runtime.spawn(run(client, data, workload, ops));
        let elapsed = self
            .runtime
            .block_on(task)
            .map_err(|e| BenchError::system(&name, e))??;
        Ok(elapsed)
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(spans) = self.tracing.exported_spans() {
            notes.push(format!(
                "{}: spans that reached the exporter / client calls: {spans} / {}",
                self.name, self.calls
            ));
        }
        if let Some(metrics) = &self.metrics {
            notes.push(self.metrics_note(metrics));
        }
        notes
    }
}

impl Ours {
    /// Collects the meter provider now and compares what
    /// `db.client.operation.duration` recorded with the calls made.
    fn metrics_note(&self, metrics: &InMemoryMetrics) -> String {
        let mut total = 0u64;
        let mut by_operation = std::collections::BTreeMap::<String, u64>::new();
        for point in metrics.points("db.client.operation.duration") {
            if let PointValue::Histogram { count, .. } = point.value {
                total += count;
                let operation = point
                    .attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == "db.operation.name")
                    .map_or("?".to_string(), |kv| kv.value.to_string());
                *by_operation.entry(operation).or_default() += count;
            }
        }
        let by_operation: Vec<String> = by_operation
            .iter()
            .map(|(operation, count)| format!("{operation} {count}"))
            .collect();
        format!(
            "{}: db.client.operation.duration recorded / client calls: {total} / {} ({})",
            self.name,
            self.calls,
            by_operation.join(", ")
        )
    }
}

async fn run(
    client: Client,
    data: Arc<Data>,
    workload: Workload,
    ops: usize,
) -> Result<Duration, BenchError> {
    let start = Instant::now();
    match workload {
        Workload::SeqGet => {
            for _ in 0..ops {
                hit(client.get(&data.get_key).await?.is_some())?;
            }
        }
        Workload::SeqSet => {
            for i in 0..ops {
                let key = &data.set_keys[i % data.set_keys.len()];
                stored(
                    client
                        .set(key, &data.small_value, StoreOptions::default())
                        .await?,
                )?;
            }
        }
        Workload::GetMany => {
            for _ in 0..ops {
                let found = client.get_many(&data.many_keys).await?;
                hit(found.len() == data.many_keys.len())?;
            }
        }
        Workload::Concurrent => {
            let tasks: Vec<_> = (0..CONCURRENCY)
                .map(|t| {
                    let client = client.clone();
                    let data = data.clone();
                    tokio::spawn(async move {
                        for i in (t..ops).step_by(CONCURRENCY) {
                            let key = concurrent_key(&data, i);
                            if concurrent_is_set(i) {
                                stored(
                                    client
                                        .set(key, &data.small_value, StoreOptions::default())
                                        .await?,
                                )?;
                            } else {
                                hit(client.get(key).await?.is_some())?;
                            }
                        }
                        Ok::<(), BenchError>(())
                    })
                })
                .collect();
            for task in tasks {
                task.await.map_err(|e| BenchError::system(NAME, e))??;
            }
        }
        Workload::LargeGet => {
            for _ in 0..ops {
                hit(client.get(&data.large_key).await?.is_some())?;
            }
        }
        Workload::LargeSet => {
            for _ in 0..ops {
                stored(
                    client
                        .set(&data.large_key, &data.large_value, StoreOptions::default())
                        .await?,
                )?;
            }
        }
    }
    Ok(start.elapsed())
}

/// Names errors of the workload itself (any mode).
const NAME: &str = "ours";

fn hit(found: bool) -> Result<(), BenchError> {
    expect_hit(NAME, found)
}

fn stored(outcome: StoreOutcome) -> Result<(), BenchError> {
    match outcome {
        StoreOutcome::Stored => Ok(()),
        other => Err(BenchError::system(NAME, format!("set answered {other:?}"))),
    }
}
