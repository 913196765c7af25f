//! The cache's health from the metrics held: hit ratio and latency per
//! operation, overall and per export interval. Computed here once and
//! served as JSON (`/api/collector/cache-metrics`), so the viewer's metrics
//! page and `trace-collector metrics` in the terminal show the same numbers.
//!
//! Reads the memcache-client's instruments: `memcached.client.lookups`
//! (by `memcached.result`) and `db.client.operation.duration` (by
//! `db.operation.name`). Cumulative series (what OTLP backends expect and
//! the client's SDK sends) are turned into per-interval deltas; delta
//! series are taken as they come. Percentiles are estimated from histogram
//! buckets by linear interpolation inside the bucket, as Prometheus'
//! `histogram_quantile` does.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::metric_store::{MetricStore, SeriesAnswer};
use crate::metrics::PointValue;

/// Name of the lookups counter.
pub const LOOKUPS: &str = "memcached.client.lookups";
/// Name of the operation duration histogram.
pub const OPERATION_DURATION: &str = "db.client.operation.duration";

/// Hit ratio and latency, overall and over time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheMetrics {
    /// Keys found, over everything held.
    pub hits: u64,
    /// Keys not found.
    pub misses: u64,
    /// `hits / (hits + misses)`, if any key was looked up.
    pub hit_ratio: Option<f64>,
    /// Per operation name, sorted by name.
    pub operations: Vec<OperationLatency>,
    /// Per export time, oldest first.
    pub timeline: Vec<Interval>,
}

/// One operation's latency distribution (seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationLatency {
    /// `db.operation.name`.
    pub name: String,
    /// Operations measured.
    pub count: u64,
    /// Of those, failed (`error.type` set).
    pub errors: u64,
    /// Estimated median.
    pub p50: Option<f64>,
    /// Estimated 95th percentile.
    pub p95: Option<f64>,
    /// Estimated 99th percentile.
    pub p99: Option<f64>,
    /// Upper bounds of the buckets (the last bucket has none).
    pub bounds: Vec<f64>,
    /// Counts per bucket (one more than `bounds`).
    pub bucket_counts: Vec<u64>,
}

/// What happened between one export and the previous one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interval {
    /// End of the interval, Unix nanoseconds.
    pub time_unix_nano: u64,
    /// Keys found in the interval.
    pub hits: u64,
    /// Keys not found in the interval.
    pub misses: u64,
    /// Per operation: (name, count, p50, p99) in the interval.
    pub operations: Vec<(String, u64, Option<f64>, Option<f64>)>,
}

/// A histogram as counts per bucket.
#[derive(Debug, Clone, Default, PartialEq)]
struct Buckets {
    bounds: Vec<f64>,
    counts: Vec<u64>,
}

impl Buckets {
    fn add(&mut self, bounds: &[f64], counts: &[u64]) {
        if self.counts.is_empty() {
            self.bounds = bounds.to_vec();
            self.counts = vec![0; counts.len()];
        }
        // Series with other bounds cannot be merged bucket by bucket.
        if self.bounds == bounds && self.counts.len() == counts.len() {
            for (total, n) in self.counts.iter_mut().zip(counts) {
                *total += n;
            }
        }
    }

    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `q` quantile, interpolated inside its bucket; the first bucket
    /// starts at 0, the overflow bucket is reported at its lower bound.
    fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = q * total as f64;
        let mut seen = 0u64;
        for (i, &n) in self.counts.iter().enumerate() {
            if n > 0 && (seen + n) as f64 >= rank {
                let lower = if i == 0 { 0.0 } else { self.bounds[i - 1] };
                let Some(&upper) = self.bounds.get(i) else {
                    return Some(lower);
                };
                let inside = (rank - seen as f64) / n as f64;
                return Some(lower + (upper - lower) * inside.clamp(0.0, 1.0));
            }
            seen += n;
        }
        self.bounds.last().copied()
    }
}

/// A series' points as per-interval values: (time, value) for counters,
/// (time, buckets) for histograms; cumulative points become differences.
fn deltas<T: Clone>(
    series: &SeriesAnswer<'_>,
    read: impl Fn(&PointValue) -> Option<(T, bool)>,
    minus: impl Fn(&T, &T) -> T,
) -> Vec<(u64, T)> {
    let mut out = Vec::new();
    let mut previous: Option<(u64, T)> = None;
    for point in &series.points {
        let Some((value, cumulative)) = read(&point.value) else {
            continue;
        };
        if !cumulative {
            out.push((point.time_unix_nano, value));
            continue;
        }
        let delta = match &previous {
            // A restart (new start time) resets a cumulative series.
            Some((start, before)) if *start == point.start_time_unix_nano => minus(&value, before),
            _ => value.clone(),
        };
        out.push((point.time_unix_nano, delta));
        previous = Some((point.start_time_unix_nano, value));
    }
    out
}

fn text_attribute(series: &SeriesAnswer<'_>, key: &str) -> Option<String> {
    series.attributes.get(key).and_then(|v| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    })
}

impl CacheMetrics {
    /// The summary of what `store` holds.
    pub fn from_store(store: &MetricStore) -> CacheMetrics {
        let mut summary = CacheMetrics::default();
        let mut per_time: BTreeMap<u64, (u64, u64, BTreeMap<String, Buckets>)> = BTreeMap::new();

        let answer = store.query(Some(LOOKUPS));
        for series in answer.metrics.iter().flat_map(|m| &m.series) {
            let hit = match text_attribute(series, "memcached.result").as_deref() {
                Some("hit") => true,
                Some("miss") => false,
                _ => continue,
            };
            let counts = deltas(
                series,
                |v| match v {
                    PointValue::Sum {
                        value, temporality, ..
                    } => Some((*value, *temporality == "cumulative")),
                    _ => None,
                },
                |a, b| a - b,
            );
            for (time, n) in counts {
                let n = n.max(0.0).round() as u64;
                let slot = per_time.entry(time).or_default();
                if hit {
                    summary.hits += n;
                    slot.0 += n;
                } else {
                    summary.misses += n;
                    slot.1 += n;
                }
            }
        }
        let looked_up = summary.hits + summary.misses;
        summary.hit_ratio = (looked_up > 0).then(|| summary.hits as f64 / looked_up as f64);

        let mut overall: BTreeMap<String, (Buckets, u64)> = BTreeMap::new();
        let answer = store.query(Some(OPERATION_DURATION));
        for series in answer.metrics.iter().flat_map(|m| &m.series) {
            let Some(name) = text_attribute(series, "db.operation.name") else {
                continue;
            };
            let failed = text_attribute(series, "error.type").is_some();
            let histograms = deltas(
                series,
                |v| match v {
                    PointValue::Histogram {
                        bucket_counts,
                        explicit_bounds,
                        temporality,
                        ..
                    } => Some((
                        Buckets {
                            bounds: explicit_bounds.clone(),
                            counts: bucket_counts.clone(),
                        },
                        *temporality == "cumulative",
                    )),
                    _ => None,
                },
                |a, b| Buckets {
                    bounds: a.bounds.clone(),
                    counts: a
                        .counts
                        .iter()
                        .zip(b.counts.iter().chain(std::iter::repeat(&0)))
                        .map(|(x, y)| x.saturating_sub(*y))
                        .collect(),
                },
            );
            for (time, buckets) in histograms {
                let entry = overall.entry(name.clone()).or_default();
                entry.0.add(&buckets.bounds, &buckets.counts);
                if failed {
                    entry.1 += buckets.total();
                }
                per_time
                    .entry(time)
                    .or_default()
                    .2
                    .entry(name.clone())
                    .or_default()
                    .add(&buckets.bounds, &buckets.counts);
            }
        }
        summary.operations = overall
            .into_iter()
            .map(|(name, (buckets, errors))| OperationLatency {
                count: buckets.total(),
                errors,
                p50: buckets.quantile(0.5),
                p95: buckets.quantile(0.95),
                p99: buckets.quantile(0.99),
                name,
                bounds: buckets.bounds,
                bucket_counts: buckets.counts,
            })
            .collect();
        summary.timeline = per_time
            .into_iter()
            .map(|(time, (hits, misses, ops))| Interval {
                time_unix_nano: time,
                hits,
                misses,
                operations: ops
                    .into_iter()
                    .map(|(name, b)| (name, b.total(), b.quantile(0.5), b.quantile(0.99)))
                    .collect(),
            })
            .collect();
        summary
    }
}

fn millis(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "-".to_owned(), |s| format!("{:.3} ms", s * 1000.0))
}

impl fmt::Display for CacheMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.hit_ratio {
            Some(ratio) => writeln!(
                f,
                "hit ratio {:.1}% ({} hits, {} misses)",
                ratio * 100.0,
                self.hits,
                self.misses
            )?,
            None => writeln!(f, "hit ratio: no lookups recorded")?,
        }
        if self.operations.is_empty() {
            return writeln!(f, "no operation durations recorded");
        }
        writeln!(
            f,
            "{:<16} {:>8} {:>7} {:>12} {:>12}",
            "operation", "count", "errors", "p50", "p99"
        )?;
        for op in &self.operations {
            writeln!(
                f,
                "{:<16} {:>8} {:>7} {:>12} {:>12}",
                op.name,
                op.count,
                op.errors,
                millis(op.p50),
                millis(op.p99)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Point, SeriesId};
    use serde_json::json;

    fn series(name: &str, attributes: serde_json::Value) -> SeriesId {
        SeriesId {
            name: name.into(),
            description: String::new(),
            unit: String::new(),
            resource: json!({"service.name": "t"}),
            scope: "memcache-client".into(),
            attributes,
        }
    }

    fn sum(time: u64, value: f64) -> Point {
        Point {
            start_time_unix_nano: 1,
            time_unix_nano: time,
            value: PointValue::Sum {
                value,
                monotonic: true,
                temporality: "cumulative",
            },
        }
    }

    fn histogram(time: u64, counts: Vec<u64>) -> Point {
        Point {
            start_time_unix_nano: 1,
            time_unix_nano: time,
            value: PointValue::Histogram {
                count: counts.iter().sum(),
                sum: None,
                min: None,
                max: None,
                bucket_counts: counts,
                explicit_bounds: vec![0.001, 0.01, 0.1],
                temporality: "cumulative",
            },
        }
    }

    #[test]
    fn cumulative_series_become_totals_intervals_and_percentiles() {
        let mut store = MetricStore::new(100, 100, 1 << 20);
        let hit = series(LOOKUPS, json!({"memcached.result": "hit"}));
        let miss = series(LOOKUPS, json!({"memcached.result": "miss"}));
        store.insert(hit.clone(), sum(10, 3.0));
        store.insert(hit, sum(20, 8.0));
        store.insert(miss.clone(), sum(10, 1.0));
        store.insert(miss, sum(20, 2.0));
        let get = series(OPERATION_DURATION, json!({"db.operation.name": "get"}));
        // 100 gets under 1 ms by t=10; 100 more between 1 and 10 ms by t=20.
        store.insert(get.clone(), histogram(10, vec![100, 0, 0, 0]));
        store.insert(get, histogram(20, vec![100, 100, 0, 0]));
        let failed = series(
            OPERATION_DURATION,
            json!({"db.operation.name": "get", "error.type": "timeout"}),
        );
        store.insert(failed, histogram(20, vec![0, 0, 0, 2]));

        let m = CacheMetrics::from_store(&store);
        assert_eq!((m.hits, m.misses), (8, 2));
        assert_eq!(m.hit_ratio, Some(0.8));
        let [get] = m.operations.as_slice() else {
            panic!("{:?}", m.operations);
        };
        assert_eq!((get.count, get.errors), (202, 2));
        assert_eq!(get.bucket_counts, vec![100, 100, 0, 2]);
        // Rank 101 of 202 is the first of the second bucket: just over 1 ms.
        let p50 = get.p50.unwrap();
        assert!((0.001..0.0011).contains(&p50), "{p50}");
        // Rank 199.98 is near the end of the second bucket (1..10 ms).
        let p99 = get.p99.unwrap();
        assert!((0.0099..=0.01).contains(&p99), "{p99}");
        // The overflow bucket is reported at its lower bound.
        let buckets = Buckets {
            bounds: get.bounds.clone(),
            counts: get.bucket_counts.clone(),
        };
        assert_eq!(buckets.quantile(1.0), Some(0.1));

        assert_eq!(m.timeline.len(), 2);
        assert_eq!((m.timeline[0].hits, m.timeline[0].misses), (3, 1));
        assert_eq!((m.timeline[1].hits, m.timeline[1].misses), (5, 1));
        let (name, count, p50, _) = &m.timeline[1].operations[0];
        assert_eq!((name.as_str(), *count), ("get", 102));
        assert!(p50.unwrap() > 0.001);
        let text = m.to_string();
        assert!(
            text.contains("hit ratio 80.0% (8 hits, 2 misses)"),
            "{text}"
        );
        assert!(text.contains("get"), "{text}");
    }

    #[test]
    fn nothing_held_says_so() {
        let m = CacheMetrics::from_store(&MetricStore::new(10, 10, 1 << 20));
        assert_eq!(m.hit_ratio, None);
        assert!(m.to_string().contains("no lookups recorded"));
    }
}
