//! Bounded in-memory store of metric series, and the answer of
//! `GET /api/metrics`.
//!
//! Bounded like the span store: each series keeps its latest
//! `max_points_per_series` points; at most `max_series` series are held in
//! at most `max_bytes` (estimated), and beyond either bound the series
//! updated least recently is evicted.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Serialize;

use crate::metrics::{Point, PointValue, SeriesId};

/// Default cap on the number of series held.
pub const DEFAULT_MAX_SERIES: usize = 2_000;
/// Default number of points kept per series.
pub const DEFAULT_MAX_POINTS_PER_SERIES: usize = 120;
/// Default byte budget of the metric store (32 MiB).
pub const DEFAULT_MAX_METRIC_BYTES: usize = 32 * 1024 * 1024;

/// Per-series cost beyond its points: the map entries, key and labels.
const SERIES_OVERHEAD: usize = 512;

#[derive(Debug)]
struct Series {
    id: SeriesId,
    points: VecDeque<Point>,
    bytes: usize,
    /// Position in the update order (higher is more recent).
    updated: u64,
}

/// Counters describing the metric store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricStats {
    /// Series held.
    pub series: usize,
    /// Points held.
    pub points: usize,
    /// Estimated bytes held.
    pub bytes: usize,
    /// Byte budget.
    pub max_bytes: usize,
    /// Series evicted to respect the bounds.
    pub evicted_series: u64,
}

/// Metric series with least-recently-updated eviction.
#[derive(Debug)]
pub struct MetricStore {
    series: HashMap<String, Series>,
    /// Update order: sequence number to series key.
    order: BTreeMap<u64, String>,
    next: u64,
    bytes: usize,
    points: usize,
    max_series: usize,
    max_points_per_series: usize,
    max_bytes: usize,
    evicted_series: u64,
}

impl Default for MetricStore {
    fn default() -> Self {
        MetricStore::new(
            DEFAULT_MAX_SERIES,
            DEFAULT_MAX_POINTS_PER_SERIES,
            DEFAULT_MAX_METRIC_BYTES,
        )
    }
}

fn id_bytes(id: &SeriesId) -> usize {
    id.name.len()
        + id.description.len()
        + id.unit.len()
        + id.scope.len()
        + 2 * (id.resource.to_string().len() + id.attributes.to_string().len())
}

impl MetricStore {
    /// A store of at most `max_series` series of at most
    /// `max_points_per_series` points, within `max_bytes` (all at least 1).
    pub fn new(max_series: usize, max_points_per_series: usize, max_bytes: usize) -> MetricStore {
        MetricStore {
            series: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
            bytes: 0,
            points: 0,
            max_series: max_series.max(1),
            max_points_per_series: max_points_per_series.max(1),
            max_bytes: max_bytes.max(1),
            evicted_series: 0,
        }
    }

    /// Adds a point to its series (created if new); points older than the
    /// series' newest are kept in time order.
    pub fn insert(&mut self, id: SeriesId, point: Point) {
        let key = id.key();
        let cost = point.approx_bytes();
        if !self.series.contains_key(&key) {
            let bytes = SERIES_OVERHEAD + 2 * key.len() + id_bytes(&id);
            self.bytes += bytes;
            self.series.insert(
                key.clone(),
                Series {
                    id,
                    points: VecDeque::new(),
                    bytes,
                    updated: 0,
                },
            );
        }
        let next = self.next;
        self.next += 1;
        let Some(series) = self.series.get_mut(&key) else {
            return;
        };
        self.order.remove(&series.updated);
        series.updated = next;
        self.order.insert(next, key.clone());
        let at = series
            .points
            .iter()
            .rposition(|p| p.time_unix_nano <= point.time_unix_nano)
            .map_or(0, |i| i + 1);
        series.points.insert(at, point);
        series.bytes += cost;
        self.bytes += cost;
        self.points += 1;
        while series.points.len() > self.max_points_per_series {
            if let Some(old) = series.points.pop_front() {
                let freed = old.approx_bytes();
                series.bytes -= freed;
                self.bytes -= freed;
                self.points -= 1;
            }
        }
        while self.series.len() > self.max_series || self.bytes > self.max_bytes {
            if !self.evict_least_recent() {
                break;
            }
        }
    }

    fn evict_least_recent(&mut self) -> bool {
        let Some((_, key)) = self.order.pop_first() else {
            return false;
        };
        if let Some(series) = self.series.remove(&key) {
            self.bytes -= series.bytes;
            self.points -= series.points.len();
            self.evicted_series += 1;
        }
        true
    }

    /// Current counters.
    pub fn stats(&self) -> MetricStats {
        MetricStats {
            series: self.series.len(),
            points: self.points,
            bytes: self.bytes,
            max_bytes: self.max_bytes,
            evicted_series: self.evicted_series,
        }
    }

    /// The series held, grouped by metric name (sorted), optionally only
    /// the metric called `name`.
    pub fn query(&self, name: Option<&str>) -> MetricsAnswer<'_> {
        let mut by_name: BTreeMap<&str, MetricAnswer<'_>> = BTreeMap::new();
        for series in self.series.values() {
            if name.is_some_and(|n| n != series.id.name) {
                continue;
            }
            let metric = by_name
                .entry(series.id.name.as_str())
                .or_insert_with(|| MetricAnswer {
                    name: &series.id.name,
                    description: &series.id.description,
                    unit: &series.id.unit,
                    kind: series.points.back().map_or("", |p| kind(&p.value)),
                    series: Vec::new(),
                });
            metric.series.push(SeriesAnswer {
                resource: &series.id.resource,
                scope: &series.id.scope,
                attributes: &series.id.attributes,
                points: series.points.iter().collect(),
            });
        }
        for metric in by_name.values_mut() {
            metric
                .series
                .sort_by_key(|s| (s.scope, s.resource.to_string(), s.attributes.to_string()));
        }
        MetricsAnswer {
            metrics: by_name.into_values().collect(),
            stats: self.stats(),
        }
    }
}

fn kind(value: &PointValue) -> &'static str {
    match value {
        PointValue::Gauge { .. } => "gauge",
        PointValue::Sum { .. } => "sum",
        PointValue::Histogram { .. } => "histogram",
        PointValue::ExponentialHistogram { .. } => "exponentialHistogram",
        PointValue::Summary { .. } => "summary",
    }
}

/// The answer of `GET /api/metrics`.
#[derive(Debug, Serialize)]
pub struct MetricsAnswer<'a> {
    /// One entry per metric name, sorted by name.
    pub metrics: Vec<MetricAnswer<'a>>,
    /// The store's counters.
    pub stats: MetricStats,
}

/// One metric and its series.
#[derive(Debug, Serialize)]
pub struct MetricAnswer<'a> {
    /// Metric name.
    pub name: &'a str,
    /// Description.
    pub description: &'a str,
    /// Unit.
    pub unit: &'a str,
    /// `gauge`, `sum`, `histogram`, `exponentialHistogram` or `summary`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Its series, by scope, resource and attributes.
    pub series: Vec<SeriesAnswer<'a>>,
}

/// One series and its points, oldest first.
#[derive(Debug, Serialize)]
pub struct SeriesAnswer<'a> {
    /// Resource attributes.
    pub resource: &'a serde_json::Value,
    /// Instrumentation scope name.
    pub scope: &'a str,
    /// Point attributes.
    pub attributes: &'a serde_json::Value,
    /// The latest points, oldest first.
    pub points: Vec<&'a Point>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(name: &str, op: &str) -> SeriesId {
        SeriesId {
            name: name.into(),
            description: String::new(),
            unit: "s".into(),
            resource: json!({"service.name": "app"}),
            scope: "scope".into(),
            attributes: json!({ "op": op }),
        }
    }

    fn gauge(t: u64, value: f64) -> Point {
        Point {
            start_time_unix_nano: 0,
            time_unix_nano: t,
            value: PointValue::Gauge { value },
        }
    }

    #[test]
    fn series_keep_their_latest_points_in_time_order() {
        let mut store = MetricStore::new(10, 3, 1 << 20);
        for t in [1, 2, 5, 4, 3] {
            store.insert(id("m", "get"), gauge(t, t as f64));
        }
        let answer = store.query(None);
        let times: Vec<u64> = answer.metrics[0].series[0]
            .points
            .iter()
            .map(|p| p.time_unix_nano)
            .collect();
        assert_eq!(times, vec![3, 4, 5]);
        assert_eq!(answer.stats.points, 3);
    }

    #[test]
    fn least_recently_updated_series_are_evicted() {
        let mut store = MetricStore::new(2, 10, 1 << 20);
        store.insert(id("m", "a"), gauge(1, 1.0));
        store.insert(id("m", "b"), gauge(1, 1.0));
        store.insert(id("m", "a"), gauge(2, 1.0));
        store.insert(id("m", "c"), gauge(1, 1.0));
        let ops: Vec<String> = store.query(Some("m")).metrics[0]
            .series
            .iter()
            .map(|s| s.attributes["op"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ops, vec!["a", "c"]);
        assert_eq!(store.stats().evicted_series, 1);

        let budget = 20_000;
        let mut small = MetricStore::new(1_000, 10, budget);
        for n in 0..500 {
            small.insert(id("m", &n.to_string()), gauge(1, 1.0));
            assert!(small.stats().bytes <= budget);
        }
        assert!(small.stats().series < 500);
        assert!(small.query(None).metrics[0]
            .series
            .iter()
            .any(|s| s.attributes["op"] == "499"));
    }
}
