//! The engine's OpenTelemetry metrics through the SDK's in-memory exporter:
//! a miss, a hit and a refused forged value are counted as they happened,
//! and the computation's duration is recorded by the number's size. One
//! test in this file: the meter provider is process-global.

#![cfg(feature = "otel")]

mod common;

use common::{engine, fresh_number};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use rug::Integer;
use sqrt_memo::value::encode_root;
use sqrt_memo::{ExactSqrt, MemoConfig, MemoKey, MemoStore, Source, TraceContext};

fn counter(metrics: &[ResourceMetrics], name: &str, key: &str, value: &str) -> u64 {
    metrics
        .iter()
        .flat_map(|rm| rm.scope_metrics())
        .flat_map(|sm| sm.metrics())
        .filter(|m| m.name() == name)
        .map(|m| match m.data() {
            AggregatedMetrics::U64(MetricData::Sum(sum)) => sum
                .data_points()
                .filter(|p| {
                    p.attributes()
                        .any(|kv| kv.key.as_str() == key && kv.value.as_str() == value)
                })
                .map(|p| p.value())
                .sum::<u64>(),
            other => panic!("{name} is not a u64 sum: {other:?}"),
        })
        .sum()
}

#[tokio::test]
async fn lookups_computations_and_rejections_are_counted() {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    opentelemetry::global::set_meter_provider(provider.clone());
    let memo = engine(MemoConfig {
        secret: None,
        ..MemoConfig::default()
    });

    let n = fresh_number(120);
    assert_eq!(memo.sqrt(&n, 10).await.unwrap().source, Source::Computed);
    assert_eq!(memo.sqrt(&n, 10).await.unwrap().source, Source::Hit);
    // A forged root under another number's key: refused, recomputed.
    let m = fresh_number(120);
    let key = MemoKey::for_integer(&m, 10).unwrap();
    let forged = ExactSqrt::from_parts(Integer::from(12_345u32), 10, false);
    common::memo_store(&memo)
        .meta_set(
            key.as_str(),
            &encode_root(&forged, &TraceContext::default(), &key, None),
            0,
            None,
        )
        .await
        .unwrap();
    assert_eq!(memo.sqrt(&m, 10).await.unwrap().source, Source::Computed);

    provider.force_flush().unwrap();
    let metrics = exporter.get_finished_metrics().unwrap();
    assert_eq!(
        counter(&metrics, "sqrt.memo.lookups", "sqrt.source", "computed"),
        2
    );
    assert_eq!(
        counter(&metrics, "sqrt.memo.lookups", "sqrt.source", "hit"),
        1
    );
    assert_eq!(
        counter(
            &metrics,
            "sqrt.memo.rejected",
            "sqrt.rejection",
            "wrong_root"
        ),
        1
    );
    // Two computations of 120-digit numbers, in the 1e2 size class, in seconds.
    let duration = metrics
        .iter()
        .flat_map(|rm| rm.scope_metrics())
        .flat_map(|sm| sm.metrics())
        .find(|m| m.name() == "sqrt.compute.duration")
        .expect("compute duration");
    assert_eq!(duration.unit(), "s");
    let AggregatedMetrics::F64(MetricData::Histogram(h)) = duration.data() else {
        panic!("not an f64 histogram");
    };
    let counted: u64 = h
        .data_points()
        .filter(|p| {
            p.attributes()
                .any(|kv| kv.key.as_str() == "sqrt.number.size" && kv.value.as_str() == "1e2")
        })
        .map(|p| p.count())
        .sum();
    assert_eq!(counted, 2);
    provider.shutdown().unwrap();
}
