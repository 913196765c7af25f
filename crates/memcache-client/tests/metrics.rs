//! The client's OpenTelemetry metrics, read back through the SDK's
//! in-memory exporter: names, units, attributes and counts against the
//! operations performed (hits and misses of single- and multi-key calls,
//! server errors, timeouts, a pool wait that times out), in the connection
//! mode under test. One test per file: the meter provider is process-global.

#![cfg(feature = "metrics")]

mod common;
mod fake;

use std::time::Duration;

use memcache_client::{MetaGetFlags, MetaStatus, StoreOptions};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

use fake::{Behavior, FakeServer};

fn find<'a>(metrics: &'a [ResourceMetrics], name: &str) -> &'a Metric {
    metrics
        .iter()
        .flat_map(|rm| rm.scope_metrics())
        .filter(|sm| sm.scope().name() == "memcache-client")
        .flat_map(|sm| sm.metrics())
        .find(|m| m.name() == name)
        .unwrap_or_else(|| panic!("no metric {name}"))
}

fn attr<'a>(attributes: impl Iterator<Item = &'a KeyValue>, key: &str) -> Option<String> {
    let mut found = None;
    for kv in attributes {
        if kv.key.as_str() == key {
            found = Some(kv.value.as_str().into_owned());
        }
    }
    found
}

/// Histogram points as (attributes as `key=value` pairs, count).
fn histogram_counts(metric: &Metric) -> Vec<(Vec<(String, String)>, u64)> {
    let AggregatedMetrics::F64(MetricData::Histogram(h)) = metric.data() else {
        panic!(
            "{} is not an f64 histogram: {:?}",
            metric.name(),
            metric.data()
        );
    };
    h.data_points()
        .map(|p| {
            let mut attrs: Vec<(String, String)> = p
                .attributes()
                .map(|kv| (kv.key.to_string(), kv.value.as_str().into_owned()))
                .collect();
            attrs.sort();
            (attrs, p.count())
        })
        .collect()
}

fn u64_sum(metric: &Metric, matches: impl Fn(&[KeyValue]) -> bool) -> u64 {
    let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else {
        panic!("{} is not a u64 sum", metric.name());
    };
    sum.data_points()
        .filter(|p| matches(&p.attributes().cloned().collect::<Vec<_>>()))
        .map(|p| p.value())
        .sum()
}

fn has(attrs: &[KeyValue], key: &str, value: &str) -> bool {
    attr(attrs.iter(), key).as_deref() == Some(value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_the_database_client_conventions() {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    opentelemetry::global::set_meter_provider(provider.clone());

    let server = common::start_server(&[]);
    let port = server.addr().port().to_string();
    let client = common::builder()
        .server_addr(server.addr())
        .max_connections_per_server(3)
        .build()
        .unwrap();
    let p = common::prefix("metrics");
    let key = |k: &str| format!("{p}{k}");
    // A server error first (incr of a value that is not a number), as it
    // ends its connection: the connection counts below see the later calls'.
    client
        .set(key("text"), "v", StoreOptions::default())
        .await
        .unwrap();
    assert!(client.incr(key("text"), 1).await.is_err());
    for k in ["a", "b", "c"] {
        client
            .set(key(k), "v", StoreOptions::default())
            .await
            .unwrap();
    }
    assert!(client.get(key("a")).await.unwrap().is_some()); // hit
    assert!(client.get(key("nope")).await.unwrap().is_none()); // miss
    let keys = ["a", "b", "c", "x", "y"].map(key);
    let found = client.get_many(&keys).await.unwrap(); // 3 hits, 2 misses
    assert_eq!(found.len(), 3);
    // The meta protocol's reads count too (what sqrt-memo uses).
    let flags = MetaGetFlags::default;
    assert!(client.meta_get(key("b"), flags()).await.unwrap().status == MetaStatus::Header);
    assert!(client.meta_get(key("nope"), flags()).await.unwrap().status == MetaStatus::Miss);

    // A timeout, against a server that never answers.
    let silent = FakeServer::start(vec![Behavior::Silent]).await;
    let slow = common::builder()
        .server_addr(silent.addr)
        .operation_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let error = slow.get("k").await.unwrap_err();
    assert!(
        matches!(error, memcache_client::Error::Timeout),
        "{error:?}"
    );

    provider.force_flush().unwrap();
    let metrics = exporter.get_finished_metrics().unwrap();

    // db.client.operation.duration: seconds, one point per (operation,
    // server, error.type), counts as performed.
    let duration = find(&metrics, "db.client.operation.duration");
    assert_eq!(duration.unit(), "s");
    let points = histogram_counts(duration);
    let count_of = |op: &str, addr_port: (&str, &str), error: Option<&str>| -> u64 {
        points
            .iter()
            .filter(|(attrs, _)| {
                let get = |k: &str| {
                    attrs
                        .iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, v)| v.as_str())
                };
                get("db.operation.name") == Some(op)
                    && get("db.system.name") == Some("memcached")
                    && get("server.address") == Some(addr_port.0)
                    && get("server.port") == Some(addr_port.1)
                    && get("error.type") == error
            })
            .map(|(_, n)| n)
            .sum()
    };
    let here = ("127.0.0.1", port.as_str());
    assert_eq!(count_of("set", here, None), 4, "{points:?}");
    assert_eq!(count_of("get", here, None), 2, "{points:?}");
    assert_eq!(count_of("get_many", here, None), 1, "{points:?}");
    let incr_errors: u64 = points
        .iter()
        .filter(|(attrs, _)| {
            attrs
                .iter()
                .any(|(k, v)| k == "db.operation.name" && v == "incr")
                && attrs.iter().any(|(k, _)| k == "error.type")
        })
        .map(|(_, n)| n)
        .sum();
    assert_eq!(incr_errors, 1, "{points:?}");
    let silent_port = silent.addr.port().to_string();
    assert_eq!(
        count_of("get", ("127.0.0.1", &silent_port), Some("timeout")),
        1,
        "{points:?}"
    );

    // Hits and misses, multi-key calls counting keys.
    let lookups = find(&metrics, "memcached.client.lookups");
    assert_eq!(lookups.unit(), "{key}");
    let count = |op: &str, result: &str| {
        u64_sum(lookups, |a| {
            has(a, "db.operation.name", op) && has(a, "memcached.result", result)
        })
    };
    assert_eq!((count("get", "hit"), count("get", "miss")), (1, 1));
    assert_eq!(
        (count("get_many", "hit"), count("get_many", "miss")),
        (3, 2)
    );

    // Connections: created at least once, the maximum as configured, and
    // a pool name of address:port.
    let pool_name = format!("127.0.0.1:{port}");
    let create = find(&metrics, "db.client.connection.create_time");
    assert_eq!(create.unit(), "s");
    assert!(histogram_counts(create).iter().any(|(attrs, n)| *n >= 1
        && attrs.contains(&("db.client.connection.pool.name".into(), pool_name.clone()))));
    let max = find(&metrics, "db.client.connection.max");
    assert_eq!(max.unit(), "{connection}");
    let AggregatedMetrics::I64(MetricData::Sum(max)) = max.data() else {
        panic!("db.client.connection.max is not an i64 sum");
    };
    let max_here = max
        .data_points()
        .find(|p| {
            attr(p.attributes(), "db.client.connection.pool.name").as_deref() == Some(&pool_name)
        })
        .map(|p| p.value());
    assert_eq!(max_here, Some(3));
    let open = find(&metrics, "db.client.connection.count");
    let AggregatedMetrics::I64(MetricData::Sum(open)) = open.data() else {
        panic!("db.client.connection.count is not an i64 sum");
    };
    let open_here: i64 = open
        .data_points()
        .filter(|p| {
            attr(p.attributes(), "db.client.connection.pool.name").as_deref() == Some(&pool_name)
        })
        .map(|p| p.value())
        .sum();
    assert!((1..=3).contains(&open_here), "{open_here} connections open");

    if !common::multiplexed() {
        // Every pooled call waited for its connection (at most the pool
        // wait) and a wait that cannot succeed is a timeout.
        let waits: u64 = histogram_counts(find(&metrics, "db.client.connection.wait_time"))
            .iter()
            .filter(|(attrs, _)| {
                attrs.contains(&("db.client.connection.pool.name".into(), pool_name.clone()))
            })
            .map(|(_, n)| n)
            .sum();
        assert_eq!(waits, 4 + 1 + 2 + 1 + 2, "one wait per pooled call");

        let tight = common::builder()
            .server_addr(silent.addr)
            .max_connections_per_server(1)
            .pool_wait_timeout(Duration::ZERO)
            .operation_timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let (first, second) = tokio::join!(tight.get("k"), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            tight.get("k").await
        });
        assert!(
            matches!(first, Err(memcache_client::Error::Timeout)),
            "{first:?}"
        );
        assert!(
            matches!(second, Err(memcache_client::Error::PoolTimeout)),
            "{second:?}"
        );
        provider.force_flush().unwrap();
        let metrics = exporter.get_finished_metrics().unwrap();
        let timeouts = find(&metrics, "db.client.connection.timeouts");
        let silent_pool = format!("127.0.0.1:{silent_port}");
        assert_eq!(
            u64_sum(timeouts, |a| has(
                a,
                "db.client.connection.pool.name",
                &silent_pool
            )),
            1
        );

        // Callers waiting for the one connection are pending requests while
        // they wait, and no longer once they have it (or gave up).
        let queue = common::builder()
            .server_addr(silent.addr)
            .max_connections_per_server(1)
            .pool_wait_timeout(Duration::from_secs(5))
            .operation_timeout(Duration::from_millis(800))
            .build()
            .unwrap();
        let pending_now = || {
            exporter.reset();
            provider.force_flush().unwrap();
            let metrics = exporter.get_finished_metrics().unwrap();
            let pending = find(&metrics, "db.client.connection.pending_requests");
            assert_eq!(pending.unit(), "{request}");
            let AggregatedMetrics::I64(MetricData::Sum(sum)) = pending.data() else {
                panic!("pending_requests is not an i64 sum");
            };
            assert!(!sum.is_monotonic());
            sum.data_points()
                .filter(|p| {
                    attr(p.attributes(), "db.client.connection.pool.name").as_deref()
                        == Some(silent_pool.as_str())
                })
                .map(|p| p.value())
                .sum::<i64>()
        };
        let (holder, waiters, during) = tokio::join!(
            queue.get("held"),
            async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                tokio::join!(queue.get("a"), queue.get("b"))
            },
            async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                pending_now()
            }
        );
        assert!(
            matches!(holder, Err(memcache_client::Error::Timeout)),
            "{holder:?}"
        );
        assert!(waiters.0.is_err() && waiters.1.is_err());
        assert_eq!(during, 2, "two callers waiting for the one connection");
        assert_eq!(pending_now(), 0);
    }
    // Lookups of several clients add up, and a client's lookups are
    // exported even when it is dropped before the next collection.
    let lookups_now = |op: &str, result: &str| {
        exporter.reset();
        provider.force_flush().unwrap();
        let metrics = exporter.get_finished_metrics().unwrap();
        u64_sum(find(&metrics, "memcached.client.lookups"), |a| {
            has(a, "db.operation.name", op) && has(a, "memcached.result", result)
        })
    };
    let before = (lookups_now("get", "hit"), lookups_now("get", "miss"));
    let second = common::builder()
        .server_addr(server.addr())
        .build()
        .unwrap();
    let third = common::builder()
        .server_addr(server.addr())
        .build()
        .unwrap();
    for c in [&client, &second, &third] {
        assert!(c.get(key("a")).await.unwrap().is_some());
        assert!(c.get(key("absent")).await.unwrap().is_none());
    }
    assert!(third.get(key("b")).await.unwrap().is_some());
    drop(third);
    assert_eq!(
        (lookups_now("get", "hit"), lookups_now("get", "miss")),
        (before.0 + 4, before.1 + 3)
    );
    drop(second);

    // A named client's pools are series of their own: two clients of one
    // process reaching the same server do not share connection counts.
    let named = common::builder()
        .server_addr(server.addr())
        .client_name("sessions")
        .max_connections_per_server(2)
        .build()
        .unwrap();
    assert!(named.get(key("a")).await.unwrap().is_some());
    exporter.reset();
    provider.force_flush().unwrap();
    let metrics = exporter.get_finished_metrics().unwrap();
    let AggregatedMetrics::I64(MetricData::Sum(max)) =
        find(&metrics, "db.client.connection.max").data()
    else {
        panic!("connection.max is not an i64 sum");
    };
    let max_of = |pool: &str| -> Vec<i64> {
        max.data_points()
            .filter(|p| {
                attr(p.attributes(), "db.client.connection.pool.name").as_deref() == Some(pool)
            })
            .map(|p| p.value())
            .collect()
    };
    assert_eq!(max_of(&format!("sessions/127.0.0.1:{port}")), vec![2]);
    assert_eq!(max_of(&pool_name), vec![3]);
    drop(named);

    if common::multiplexed() {
        // Requests in flight, per open multiplexed connection (none now).
        let in_flight = find(&metrics, "memcached.client.connection.in_flight");
        assert_eq!(in_flight.unit(), "{request}");
        let AggregatedMetrics::U64(MetricData::Gauge(gauge)) = in_flight.data() else {
            panic!("in_flight is not a u64 gauge");
        };
        let here: Vec<u64> = gauge
            .data_points()
            .filter(|p| {
                attr(p.attributes(), "db.client.connection.pool.name").as_deref()
                    == Some(&pool_name)
            })
            .map(|p| p.value())
            .collect();
        assert!(!here.is_empty() && here.iter().all(|&n| n == 0), "{here:?}");
    }
    drop(client);
    provider.shutdown().unwrap();
}
