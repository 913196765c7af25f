//! What the on-demand analyses cost with the store full: 1 000 demo-shaped
//! traces of 40 spans (the default trace cap). Each analysis scans every
//! held span; the baseline in the same run is the `/api/v2/traces` search
//! (which also visits every trace), so the ratios say how much dearer an
//! analysis is than the search the UI already runs on every list view.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use trace_collector::analysis::{
    autocomplete_values, by_trace, dependency_links, operation_stats, TimeWindow,
};
use trace_collector::store::{DEFAULT_MAX_SPANS_PER_TRACE, DEFAULT_MAX_TRACES};
use trace_collector::{Endpoint, Kind, Span, Store, TraceQuery};

const SPANS_PER_TRACE: u64 = 40;
const START_US: u64 = 1_700_000_000_000_000;

fn endpoint(service: &str) -> Option<Endpoint> {
    Some(Endpoint {
        service_name: Some(service.into()),
        ..Endpoint::default()
    })
}

/// A root with rounds of memo lookups, each a memcached client call.
fn demo_trace(trace: u64) -> Vec<Span> {
    let trace_id = format!("{trace:032x}");
    let start = START_US + trace * 10_000;
    (0..SPANS_PER_TRACE)
        .map(|n| {
            let client = n % 4 == 3;
            let mut tags = BTreeMap::from([
                (
                    "code.module.name".to_owned(),
                    "sqrt_memo::engine".to_owned(),
                ),
                ("sqrt.digits".to_owned(), "10".to_owned()),
            ]);
            if client {
                tags.insert("db.system.name".into(), "memcached".into());
                if (trace + n).is_multiple_of(17) {
                    tags.insert("error".into(), "timeout".into());
                }
            }
            Span {
                trace_id: trace_id.clone(),
                id: format!("{:016x}", trace * 100 + n + 1),
                parent_id: (n > 0).then(|| format!("{:016x}", trace * 100 + (n - 1) / 4 * 4 + 1)),
                kind: client.then_some(Kind::Client),
                name: Some(
                    ["sqrt.batch", "sqrt.memo", "sqrt.lookup", "meta_get"][(n % 4) as usize].into(),
                ),
                timestamp: Some(start + n * 50),
                duration: Some(100 + (trace * 7 + n * 13) % 2_000),
                local_endpoint: endpoint("sqrt-demo"),
                tags,
                ..Span::default()
            }
        })
        .collect()
}

fn full_store() -> Store {
    let mut store = Store::new(DEFAULT_MAX_TRACES, DEFAULT_MAX_SPANS_PER_TRACE);
    for trace in 0..DEFAULT_MAX_TRACES as u64 {
        for span in demo_trace(trace) {
            store.insert(span);
        }
    }
    store
}

fn bench_analyses(c: &mut Criterion) {
    let store = full_store();
    assert_eq!(
        store.stats().spans,
        DEFAULT_MAX_TRACES * SPANS_PER_TRACE as usize
    );
    let keys = vec!["db.system.name".to_owned()];
    let mut search = TraceQuery::ending_at(u64::MAX / 1000);
    search.lookback_ms = u64::MAX / 1000;
    search.service_name = Some("sqrt-demo".into());
    let mut group = c.benchmark_group("full_store_1000x40");
    group.bench_function("baseline_traces_search", |b| {
        b.iter(|| black_box(store.query(black_box(&search))))
    });
    group.bench_function("autocomplete_values", |b| {
        b.iter(|| black_box(autocomplete_values(store.spans(), &keys, "db.system.name")))
    });
    group.bench_function("dependencies", |b| {
        b.iter(|| black_box(dependency_links(&by_trace(store.spans()), TimeWindow::ALL)))
    });
    group.bench_function("operations", |b| {
        b.iter(|| black_box(operation_stats(store.spans(), None, TimeWindow::ALL)))
    });
    group.finish();
}

criterion_group!(benches, bench_analyses);
criterion_main!(benches);
