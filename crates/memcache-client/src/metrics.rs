//! OpenTelemetry metrics of the client (feature `metrics`), named as the
//! database-client semantic conventions define them, plus the cache's own
//! hits and misses and server health.
//!
//! | instrument | type | unit | attributes |
//! | --- | --- | --- | --- |
//! | `db.client.operation.duration` | histogram | `s` | `db.system.name`, `db.operation.name`, `server.address`, `server.port`, `error.type` (on failure) |
//! | `db.client.connection.count` | observable up-down counter | `{connection}` | `db.client.connection.pool.name`, `db.client.connection.state` (`idle`/`used`) |
//! | `db.client.connection.max` | observable up-down counter | `{connection}` | `db.client.connection.pool.name` |
//! | `db.client.connection.pending_requests` | observable up-down counter | `{request}` | `db.client.connection.pool.name` (pooled mode) |
//! | `db.client.connection.wait_time` | histogram | `s` | `db.client.connection.pool.name` |
//! | `db.client.connection.create_time` | histogram | `s` | `db.client.connection.pool.name` |
//! | `db.client.connection.timeouts` | counter | `{timeout}` | `db.client.connection.pool.name` |
//! | `memcached.client.connection.in_flight` | observable gauge | `{request}` | `db.client.connection.pool.name`, `memcached.connection.index` (multiplexed mode) |
//! | `memcached.client.lookups` | counter | `{key}` | `db.system.name`, `db.operation.name`, `memcached.result` (`hit`/`miss`) |
//! | `memcached.client.connection.unsolicited` | counter | `{connection}` | `db.client.connection.pool.name` |
//! | `memcached.client.server.state_changes` | counter | `{change}` | `db.client.connection.pool.name`, `memcached.server.state` (`dead`/`alive`) |
//!
//! The pool name is `server.address:server.port` (or the socket path), as
//! the conventions ask of pools without a name of their own, prefixed by
//! `<client_name>/` when the client is given a name. Instruments
//! come from the global meter provider when the client is built, and every
//! attribute set is prepared once per server: a call records into ready
//! instruments with ready attributes. With no meter provider installed the
//! instruments are OpenTelemetry's no-ops.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
#[cfg(feature = "metrics-bound")]
use std::sync::OnceLock;
use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry::metrics::{Counter, Histogram, Meter};
use opentelemetry::{InstrumentationScope, KeyValue};

use crate::operation::{Operation, OPERATIONS};
use crate::Error;

/// Bucket boundaries the conventions advise for `db.client.*` durations.
const DURATION_BOUNDARIES: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The client's instruments, created once per client.
pub(crate) struct ClientMetrics {
    /// `memcached.client.lookups`, counted locally and added at collection.
    lookups: Arc<Lookups>,
    operation_duration: Histogram<f64>,
    wait_time: Histogram<f64>,
    create_time: Histogram<f64>,
    timeouts: Counter<u64>,
    state_changes: Counter<u64>,
    unsolicited: Counter<u64>,
    /// Observable instruments stay registered while their handles live.
    _observers: Vec<Box<dyn std::any::Any + Send + Sync>>,
}

/// One server's prepared attribute sets, beside the client's instruments.
pub(crate) struct ServerMetrics {
    client: Arc<ClientMetrics>,
    /// Per operation ([`OPERATIONS`] order), the attributes of a successful
    /// call's `db.client.operation.duration` (`db.system.name`,
    /// `server.address`, `server.port` or, for a Unix socket,
    /// `network.transport = "unix"`, and `db.operation.name`): recorded
    /// without building or cloning an attribute per call.
    operations: Box<[Series<[KeyValue; 4]>]>,
    /// `db.client.connection.pool.name`.
    pool: [KeyValue; 1],
    /// `db.client.connection.wait_time`'s series (the pool name).
    wait_series: Series<[KeyValue; 1]>,
    dead: [KeyValue; 2],
    alive: [KeyValue; 2],
}

/// `memcached.client.lookups`, counted where the keys are read and added to
/// the counter when metrics are collected: a lookup costs one uncontended
/// atomic add instead of a measurement (the SDK hashing the attribute set),
/// which is most of what metrics cost a pooled `get` besides its two
/// histograms. The SDK runs the observable callbacks before it reads the
/// synchronous instruments, so the client's callback moves the counts in
/// and every collection sees every lookup made before it; what is left when
/// the client is dropped is added then. Still an ordinary counter: it sums
/// over clients and belongs to the meter provider the client was built
/// under.
struct Lookups {
    counter: Counter<u64>,
    /// Per operation ([`OPERATIONS`] order), the attribute sets of a hit and
    /// of a miss.
    series: Box<[[Series<[KeyValue; 3]>; 2]]>,
    /// Hits and misses not yet added, one shard per group of threads so
    /// that concurrent callers do not fight over a cache line.
    shards: Box<[LookupShard]>,
}

/// Counts per operation: `[hits, misses]`.
#[repr(align(64))]
struct LookupShard([[AtomicU64; 2]; OPERATIONS.len()]);

/// Threads spread over this many shards.
const LOOKUP_SHARDS: usize = 8;

impl Lookups {
    fn count(&self, operation: Operation, hits: usize, misses: usize) {
        thread_local! {
            static SHARD: usize = {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                NEXT.fetch_add(1, Ordering::Relaxed) % LOOKUP_SHARDS
            };
        }
        let shard = SHARD.with(|shard| *shard);
        let Some(counts) = self
            .shards
            .get(shard)
            .and_then(|s| s.0.get(operation.index()))
        else {
            return;
        };
        for (n, count) in [(hits, &counts[0]), (misses, &counts[1])] {
            if n > 0 {
                count.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }

    /// Adds what was counted since the last call to the counter.
    fn flush(&self) {
        for (index, pair) in self.series.iter().enumerate() {
            for (result, series) in pair.iter().enumerate() {
                let n: u64 = self
                    .shards
                    .iter()
                    .map(|shard| shard.0[index][result].swap(0, Ordering::Relaxed))
                    .sum();
                if n > 0 {
                    series.add(&self.counter, n);
                }
            }
        }
    }
}

impl Drop for Lookups {
    fn drop(&mut self) {
        self.flush();
    }
}

/// One series of a hot instrument: its attribute set, prepared once, and
/// (feature `metrics-bound`) the instrument bound to it, so a call records
/// without the SDK hashing the attributes to find the series. Bound on
/// first use, because binding creates the series: what never happens
/// exports nothing, as unbound. The one place that knows whether
/// measurements go through bound instruments.
struct Series<A> {
    attributes: A,
    #[cfg(feature = "metrics-bound")]
    bound_histogram: OnceLock<opentelemetry::metrics::BoundHistogram<f64>>,
    #[cfg(feature = "metrics-bound")]
    bound_counter: OnceLock<opentelemetry::metrics::BoundCounter<u64>>,
}

impl<A: AsRef<[KeyValue]>> Series<A> {
    fn new(attributes: A) -> Self {
        Series {
            attributes,
            #[cfg(feature = "metrics-bound")]
            bound_histogram: OnceLock::new(),
            #[cfg(feature = "metrics-bound")]
            bound_counter: OnceLock::new(),
        }
    }

    fn record(&self, histogram: &Histogram<f64>, value: f64) {
        #[cfg(feature = "metrics-bound")]
        self.bound_histogram
            .get_or_init(|| histogram.bind(self.attributes.as_ref()))
            .record(value);
        #[cfg(not(feature = "metrics-bound"))]
        histogram.record(value, self.attributes.as_ref());
    }

    fn add(&self, counter: &Counter<u64>, value: u64) {
        #[cfg(feature = "metrics-bound")]
        self.bound_counter
            .get_or_init(|| counter.bind(self.attributes.as_ref()))
            .add(value);
        #[cfg(not(feature = "metrics-bound"))]
        counter.add(value, self.attributes.as_ref());
    }
}

/// What the observable instruments read from a live client.
pub(crate) trait PoolGauges: Send + Sync {
    /// Per server: its metrics, idle and used connections, the maximum, and
    /// the requests in flight on each multiplexed connection.
    fn observe(&self, each: &mut dyn FnMut(&ServerMetrics, PoolState<'_>));
}

/// One server's connections at an observation.
pub(crate) struct PoolState<'a> {
    pub idle: usize,
    pub used: usize,
    pub max: usize,
    /// Callers waiting for a pooled connection (none in multiplexed mode).
    pub pending: Option<usize>,
    pub in_flight: &'a [usize],
}

/// Runs `f` on each pool of the client behind `gauges`, if it still lives:
/// a dropped client's observers observe nothing.
fn each_pool(gauges: &Weak<dyn PoolGauges>, f: &mut dyn FnMut(&ServerMetrics, PoolState<'_>)) {
    if let Some(gauges) = gauges.upgrade() {
        gauges.observe(f);
    }
}

fn meter() -> Meter {
    let scope = InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url("https://opentelemetry.io/schemas/1.37.0")
        .build();
    opentelemetry::global::meter_with_scope(scope)
}

fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl ClientMetrics {
    /// The instruments, with observers reading `gauges` for as long as it lives.
    pub fn new(gauges: Weak<dyn PoolGauges>) -> ClientMetrics {
        let meter = meter();
        let system = KeyValue::new("db.system.name", "memcached");
        let lookups = Arc::new(Lookups {
            counter: meter
                .u64_counter("memcached.client.lookups")
                .with_unit("{key}")
                .with_description("Keys looked up, by result (hit or miss)")
                .build(),
            series: OPERATIONS
                .iter()
                .map(|&name| {
                    let operation = KeyValue::new("db.operation.name", name);
                    ["hit", "miss"].map(|result| {
                        Series::new([
                            system.clone(),
                            operation.clone(),
                            KeyValue::new("memcached.result", result),
                        ])
                    })
                })
                .collect(),
            shards: (0..LOOKUP_SHARDS)
                .map(|_| LookupShard(std::array::from_fn(|_| Default::default())))
                .collect(),
        });
        let pending_lookups = Arc::downgrade(&lookups);
        let count_gauges = gauges.clone();
        let connection_count = meter
            .i64_observable_up_down_counter("db.client.connection.count")
            .with_unit("{connection}")
            .with_description("Connections open, by state")
            .with_callback(move |observer| {
                // Runs before the SDK reads the counter (see `Lookups`).
                if let Some(lookups) = pending_lookups.upgrade() {
                    lookups.flush();
                }
                each_pool(&count_gauges, &mut |server, state| {
                    let [pool] = &server.pool;
                    for (n, label) in [(state.idle, "idle"), (state.used, "used")] {
                        observer.observe(
                            int(n),
                            &[
                                pool.clone(),
                                KeyValue::new("db.client.connection.state", label),
                            ],
                        );
                    }
                });
            })
            .build();
        // Read from the pool's counter at collection, like the connection
        // counts: a wait costs two atomic adds instead of two measurements.
        let pending_gauges = gauges.clone();
        let pending_requests = meter
            .i64_observable_up_down_counter("db.client.connection.pending_requests")
            .with_unit("{request}")
            .with_description("Requests waiting for a connection")
            .with_callback(move |observer| {
                each_pool(&pending_gauges, &mut |server, state| {
                    if let Some(pending) = state.pending {
                        observer.observe(int(pending), &server.pool);
                    }
                });
            })
            .build();
        let max_gauges = gauges.clone();
        let connection_max = meter
            .i64_observable_up_down_counter("db.client.connection.max")
            .with_unit("{connection}")
            .with_description("The most connections the client opens to a server")
            .with_callback(move |observer| {
                each_pool(&max_gauges, &mut |server, state| {
                    observer.observe(int(state.max), &server.pool);
                });
            })
            .build();
        let in_flight = meter
            .u64_observable_gauge("memcached.client.connection.in_flight")
            .with_unit("{request}")
            .with_description(
                "Requests sent or queued and not yet answered, per multiplexed connection",
            )
            .with_callback(move |observer| {
                each_pool(&gauges, &mut |server, state| {
                    let [pool] = &server.pool;
                    for (index, &n) in state.in_flight.iter().enumerate() {
                        observer.observe(
                            n as u64,
                            &[
                                pool.clone(),
                                KeyValue::new("memcached.connection.index", int(index)),
                            ],
                        );
                    }
                });
            })
            .build();
        ClientMetrics {
            lookups,
            operation_duration: meter
                .f64_histogram("db.client.operation.duration")
                .with_unit("s")
                .with_description("Duration of database client operations")
                .with_boundaries(DURATION_BOUNDARIES.to_vec())
                .build(),
            wait_time: meter
                .f64_histogram("db.client.connection.wait_time")
                .with_unit("s")
                .with_description("Time to obtain a connection from the pool")
                .with_boundaries(DURATION_BOUNDARIES.to_vec())
                .build(),
            create_time: meter
                .f64_histogram("db.client.connection.create_time")
                .with_unit("s")
                .with_description("Time to open a connection (TCP, TLS, authentication)")
                .with_boundaries(DURATION_BOUNDARIES.to_vec())
                .build(),
            timeouts: meter
                .u64_counter("db.client.connection.timeouts")
                .with_unit("{timeout}")
                .with_description("Waits for a connection that timed out")
                .build(),
            state_changes: meter
                .u64_counter("memcached.client.server.state_changes")
                .with_unit("{change}")
                .with_description("Servers marked dead, and dead servers that answered again")
                .build(),
            unsolicited: meter
                .u64_counter("memcached.client.connection.unsolicited")
                .with_unit("{connection}")
                .with_description("Idle connections that received data or an end of stream unasked, closed at checkout")
                .build(),
            _observers: vec![
                Box::new(connection_count),
                Box::new(connection_max),
                Box::new(pending_requests),
                Box::new(in_flight),
            ],
        }
    }

    /// Keys of a retrieval found and not found.
    pub fn lookups(&self, operation: Operation, hits: usize, misses: usize) {
        self.lookups.count(operation, hits, misses);
    }
}

impl ServerMetrics {
    /// One operation on one server: its duration, and its error if it failed.
    pub fn operation(&self, operation: Operation, elapsed: Duration, error: Option<&Error>) {
        let seconds = elapsed.as_secs_f64();
        let Some(series) = self.operations.get(operation.index()) else {
            return;
        };
        match error {
            None => series.record(&self.client.operation_duration, seconds),
            // Rare: built per call, on the stack.
            Some(error) => {
                let [system, address, port, operation] = &series.attributes;
                self.client.operation_duration.record(
                    seconds,
                    &[
                        system.clone(),
                        address.clone(),
                        port.clone(),
                        operation.clone(),
                        KeyValue::new("error.type", error.kind()),
                    ],
                )
            }
        }
    }

    /// A connection was obtained after `waited`.
    pub fn waited(&self, waited: Duration) {
        self.wait_series
            .record(&self.client.wait_time, waited.as_secs_f64());
    }

    /// A wait for a connection timed out.
    pub fn wait_timed_out(&self) {
        self.client.timeouts.add(1, &self.pool);
    }

    /// A connection was opened in `took`.
    pub fn created(&self, took: Duration) {
        self.client
            .create_time
            .record(took.as_secs_f64(), &self.pool);
    }

    /// An idle connection was found out of step at checkout and closed.
    pub fn unsolicited(&self) {
        self.client.unsolicited.add(1, &self.pool);
    }

    /// A server was marked dead (`false`) or answered again (`true`).
    pub fn server_state(&self, alive: bool) {
        let attributes = if alive { &self.alive } else { &self.dead };
        self.client.state_changes.add(1, attributes);
    }

    /// Attribute sets for the server at `host` (address or socket path) and
    /// `port` (none for a socket), of the client called `client_name`.
    pub fn new(
        client: Arc<ClientMetrics>,
        host: &str,
        port: Option<u16>,
        client_name: Option<&str>,
    ) -> ServerMetrics {
        let host: Arc<str> = Arc::from(host);
        let server = match port {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let pool_name: Arc<str> = match client_name {
            Some(name) => Arc::from(format!("{name}/{server}")),
            None => Arc::from(server),
        };
        let pool = KeyValue::new("db.client.connection.pool.name", pool_name);
        let server = [
            KeyValue::new("db.system.name", "memcached"),
            KeyValue::new("server.address", host),
            match port {
                Some(port) => KeyValue::new("server.port", i64::from(port)),
                None => KeyValue::new("network.transport", "unix"),
            },
        ];
        let state = |s: &'static str| [pool.clone(), KeyValue::new("memcached.server.state", s)];
        let operations = OPERATIONS
            .iter()
            .map(|&name| {
                let [system, address, port] = server.clone();
                Series::new([
                    system,
                    address,
                    port,
                    KeyValue::new("db.operation.name", name),
                ])
            })
            .collect();
        ServerMetrics {
            client,
            operations,
            wait_series: Series::new([pool.clone()]),
            dead: state("dead"),
            alive: state("alive"),
            pool: [pool],
        }
    }
}
