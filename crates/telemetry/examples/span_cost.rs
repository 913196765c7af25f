//! The cost of one traced memcached call's span, for instruction counting:
//! the span memcache-client creates for a `get` (19 declared fields, the
//! server and peer recorded in one `record_all`, the hit and value size in
//! another, entered twice as an async call is polled), created `N` times
//! with no subscriber (`off`) or with traced-telemetry's layer sampling
//! every span into a batch processor whose exporter drops them (`on`;
//! `on-no-activation` without making entered spans the current
//! OpenTelemetry context), or with tracing-opentelemetry's layer configured
//! as this crate configured it before (`bridge`), for comparison.
//!
//! ```text
//! valgrind --tool=callgrind target/release/examples/span_cost on 20000
//! ```
//! Instructions per span: the difference of two runs with different `N`,
//! divided by the difference of `N`.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter, SpanProcessor,
};
use opentelemetry_sdk::Resource;
use std::time::Duration;
use traced_telemetry::{
    opentelemetry, opentelemetry_sdk, OtelLayer, SamplerConfig, SharedProcessor,
};
use tracing::field::Value;
use tracing_subscriber::layer::SubscriberExt;

/// Accepts every batch and keeps nothing.
#[derive(Debug)]
struct DropExporter;

impl SpanExporter for DropExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

/// One `get` as memcache-client traces it (see its `trace.rs`).
fn traced_get(host: &str, port: i64) {
    let span = tracing::info_span!(
        "get",
        otel.kind = "client",
        db.system.name = "memcached",
        db.operation.name = "get",
        server.address = tracing::field::Empty,
        server.port = tracing::field::Empty,
        network.peer.address = tracing::field::Empty,
        network.peer.port = tracing::field::Empty,
        network.transport = tracing::field::Empty,
        db.operation.batch.size = tracing::field::Empty,
        memcached.key = tracing::field::Empty,
        memcached.hit = tracing::field::Empty,
        memcached.hits = tracing::field::Empty,
        memcached.misses = tracing::field::Empty,
        memcached.value_size = tracing::field::Empty,
        memcached.outcome = tracing::field::Empty,
        memcached.cas_outcome = tracing::field::Empty,
        error.type = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    span.in_scope(|| {});
    if let Some(fields) = span.metadata().map(|m| m.fields()) {
        let names = [
            "server.address",
            "server.port",
            "network.peer.address",
            "network.peer.port",
            "network.transport",
        ]
        .map(|name| fields.field(name));
        if let [Some(a), Some(p), Some(pa), Some(pp), Some(t)] = &names {
            let values = [
                (a, Some(&host as &dyn Value)),
                (p, Some(&port as &dyn Value)),
                (pa, Some(&host as &dyn Value)),
                (pp, Some(&port as &dyn Value)),
                (t, Some(&"tcp" as &dyn Value)),
            ];
            span.record_all(&fields.value_set(&values));
        }
        if let (Some(hit), Some(size)) = (
            fields.field("memcached.hit"),
            fields.field("memcached.value_size"),
        ) {
            let values = [
                (&hit, Some(&true as &dyn Value)),
                (&size, Some(&32_i64 as &dyn Value)),
            ];
            span.record_all(&fields.value_set(&values));
        }
    }
    span.in_scope(|| {});
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "on".to_owned());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let host = String::from("127.0.0.1");
    let processor = SharedProcessor::new(
        BatchSpanProcessor::builder(DropExporter).build(),
        &Resource::builder().build(),
    );
    let layer = OtelLayer::new(
        processor.clone(),
        SamplerConfig::AlwaysOn,
        InstrumentationScope::builder("span_cost").build(),
    );
    let run = || {
        for _ in 0..count {
            traced_get(&host, 11211);
        }
    };
    match mode.as_str() {
        "off" => run(),
        "bridge" => {
            let provider = SdkTracerProvider::builder()
                .with_span_processor(BatchSpanProcessor::builder(DropExporter).build())
                .build();
            let bridge = traced_telemetry::tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("span_cost"))
                .with_threads(false)
                .with_tracked_inactivity(false);
            tracing::subscriber::with_default(tracing_subscriber::registry().with(bridge), run);
            let _ = provider.shutdown_with_timeout(Duration::from_secs(5));
        }
        "on-no-activation" => tracing::subscriber::with_default(
            tracing_subscriber::registry().with(layer.with_context_activation(false)),
            run,
        ),
        _ => tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), run),
    }
    let _ = processor.shutdown_with_timeout(Duration::from_secs(5));
}
