//! Bounded in-memory span storage, grouped by trace.
//!
//! Memory stays bounded two ways: at most `max_traces` traces are kept (the
//! trace that arrived first is evicted first), and a single trace keeps at
//! most `max_spans_per_trace` spans (later spans of an overfull trace are
//! dropped and counted). A span arriving again with the same id, kind and
//! `shared` flag replaces the earlier copy, so retries and reloads do not
//! duplicate it.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::model::{Kind, Span};
use crate::query::{trace_start, TraceQuery};

/// Default cap on the number of traces held.
pub const DEFAULT_MAX_TRACES: usize = 1_000;
/// Default cap on the number of spans held for one trace.
pub const DEFAULT_MAX_SPANS_PER_TRACE: usize = 10_000;

/// What happened to a span handed to [`Store::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// A new span was stored.
    Added,
    /// An earlier copy of the same span was replaced.
    Replaced,
    /// The span's trace is full; the span was dropped.
    Dropped,
}

/// Counters describing the store's contents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreStats {
    /// Traces held.
    pub traces: usize,
    /// Spans held.
    pub spans: usize,
    /// Traces dropped to stay within `max_traces`.
    pub evicted_traces: u64,
    /// Spans refused because their trace held its span limit.
    pub dropped_spans: u64,
    /// Most traces held at once.
    pub max_traces: usize,
}

type SpanKey = (String, bool, Option<Kind>);

#[derive(Debug, Default)]
struct Trace {
    spans: Vec<Span>,
    index: HashMap<SpanKey, usize>,
}

/// Spans grouped by trace id, with oldest-first eviction.
#[derive(Debug)]
pub struct Store {
    traces: HashMap<String, Trace>,
    /// Trace ids in order of first arrival; the front is evicted first.
    arrival: VecDeque<String>,
    max_traces: usize,
    max_spans_per_trace: usize,
    span_count: usize,
    evicted_traces: u64,
    dropped_spans: u64,
}

impl Store {
    /// A store holding at most `max_traces` traces of at most
    /// `max_spans_per_trace` spans each (both at least 1).
    pub fn new(max_traces: usize, max_spans_per_trace: usize) -> Store {
        Store {
            traces: HashMap::new(),
            arrival: VecDeque::new(),
            max_traces: max_traces.max(1),
            max_spans_per_trace: max_spans_per_trace.max(1),
            span_count: 0,
            evicted_traces: 0,
            dropped_spans: 0,
        }
    }

    /// Stores one (normalized) span, evicting the oldest trace if a new trace
    /// would exceed the cap.
    pub fn insert(&mut self, span: Span) -> Inserted {
        let key: SpanKey = (span.id.clone(), span.shared, span.kind);
        if !self.traces.contains_key(&span.trace_id) {
            while self.traces.len() >= self.max_traces {
                self.evict_oldest();
            }
            self.arrival.push_back(span.trace_id.clone());
        }
        let trace = self.traces.entry(span.trace_id.clone()).or_default();
        if let Some(&at) = trace.index.get(&key) {
            trace.spans[at] = span;
            return Inserted::Replaced;
        }
        if trace.spans.len() >= self.max_spans_per_trace {
            self.dropped_spans += 1;
            return Inserted::Dropped;
        }
        trace.index.insert(key, trace.spans.len());
        trace.spans.push(span);
        self.span_count += 1;
        Inserted::Added
    }

    fn evict_oldest(&mut self) {
        if let Some(id) = self.arrival.pop_front() {
            if let Some(trace) = self.traces.remove(&id) {
                self.span_count -= trace.spans.len();
                self.evicted_traces += 1;
            }
        }
    }

    /// One trace's spans ordered by start time, if held.
    pub fn trace(&self, trace_id: &str) -> Option<Vec<Span>> {
        let id = trace_id.to_ascii_lowercase();
        // A 64-bit id and the same id zero-padded to 128 bits name one trace.
        let alternative = match id.len() {
            16 => Some(format!("0000000000000000{id}")),
            32 => id.strip_prefix("0000000000000000").map(str::to_owned),
            _ => None,
        };
        let trace = self
            .traces
            .get(&id)
            .or_else(|| self.traces.get(alternative.as_deref()?))?;
        Some(sorted(&trace.spans))
    }

    /// Every local service name seen, sorted.
    pub fn services(&self) -> Vec<String> {
        self.distinct(|s| s.service_name())
    }

    /// Span names recorded by `service` (case-insensitive), sorted.
    pub fn span_names(&self, service: &str) -> Vec<String> {
        self.distinct(|s| {
            s.has_service(service)
                .then_some(s.name.as_deref()?)
                .filter(|n| !n.is_empty())
        })
    }

    /// Remote service names that `service` talked to, sorted.
    pub fn remote_services(&self, service: &str) -> Vec<String> {
        self.distinct(|s| s.has_service(service).then_some(s.remote_service_name()?))
    }

    fn distinct<'a>(&'a self, pick: impl Fn(&'a Span) -> Option<&'a str>) -> Vec<String> {
        let names: BTreeSet<&str> = self.spans().filter_map(pick).collect();
        names.into_iter().map(str::to_owned).collect()
    }

    /// Traces matching `query`, newest first, at most `query.limit`.
    pub fn query(&self, query: &TraceQuery) -> Vec<Vec<Span>> {
        let mut hits: Vec<(u64, &Trace)> = self
            .traces
            .values()
            .filter(|t| query.matches(&t.spans))
            .map(|t| (trace_start(&t.spans).unwrap_or(0), t))
            .collect();
        hits.sort_by_key(|&(start, _)| std::cmp::Reverse(start));
        hits.into_iter()
            .take(query.limit)
            .map(|(_, t)| sorted(&t.spans))
            .collect()
    }

    /// All held spans, trace by trace in arrival order.
    pub fn spans(&self) -> impl Iterator<Item = &Span> {
        self.arrival
            .iter()
            .filter_map(|id| self.traces.get(id))
            .flat_map(|t| t.spans.iter())
    }

    /// Current counters.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            traces: self.traces.len(),
            spans: self.span_count,
            evicted_traces: self.evicted_traces,
            dropped_spans: self.dropped_spans,
            max_traces: self.max_traces,
        }
    }
}

fn sorted(spans: &[Span]) -> Vec<Span> {
    let mut out = spans.to_vec();
    out.sort_by_key(|s| s.timestamp.unwrap_or(0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Endpoint;

    fn span(trace: u64, id: u64, service: &str, name: &str, ts: u64) -> Span {
        Span {
            trace_id: format!("{trace:016x}"),
            id: format!("{id:016x}"),
            name: Some(name.into()),
            timestamp: Some(ts),
            duration: Some(10),
            local_endpoint: Some(Endpoint {
                service_name: Some(service.into()),
                ..Endpoint::default()
            }),
            ..Span::default()
        }
    }

    #[test]
    fn oldest_trace_is_evicted_at_the_cap() {
        let mut store = Store::new(2, 100);
        store.insert(span(1, 1, "a", "x", 100));
        store.insert(span(2, 1, "a", "x", 200));
        // More spans for trace 1 do not make it younger.
        store.insert(span(1, 2, "a", "y", 300));
        store.insert(span(3, 1, "a", "x", 400));
        assert!(store.trace(&format!("{:016x}", 1)).is_none());
        assert!(store.trace(&format!("{:016x}", 2)).is_some());
        assert!(store.trace(&format!("{:016x}", 3)).is_some());
        let stats = store.stats();
        assert_eq!((stats.traces, stats.spans, stats.evicted_traces), (2, 2, 1));
    }

    #[test]
    fn eviction_never_lets_the_store_grow_past_the_cap() {
        let mut store = Store::new(5, 100);
        for t in 0..1_000 {
            store.insert(span(t, 1, "a", "x", t));
            assert!(store.stats().traces <= 5);
        }
        assert_eq!(store.stats().spans, 5);
        assert_eq!(store.spans().count(), 5);
    }

    #[test]
    fn per_trace_span_cap_drops_extra_spans() {
        let mut store = Store::new(10, 3);
        for id in 0..5 {
            store.insert(span(1, id, "a", "x", id));
        }
        assert_eq!(store.trace(&format!("{:016x}", 1)).unwrap().len(), 3);
        assert_eq!(store.stats().dropped_spans, 2);
    }

    #[test]
    fn same_span_twice_is_replaced_not_duplicated() {
        let mut store = Store::new(10, 10);
        assert_eq!(store.insert(span(1, 1, "a", "x", 1)), Inserted::Added);
        assert_eq!(
            store.insert(span(1, 1, "a", "renamed", 1)),
            Inserted::Replaced
        );
        let spans = store.trace(&format!("{:016x}", 1)).unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].name.as_deref(), Some("renamed"));
        let mut server_half = span(1, 1, "b", "x", 2);
        server_half.shared = true;
        assert_eq!(store.insert(server_half), Inserted::Added);
    }

    #[test]
    fn services_and_span_names() {
        let mut store = Store::new(10, 10);
        store.insert(span(1, 1, "app", "root", 1));
        store.insert(span(1, 2, "app", "child", 2));
        store.insert(span(2, 1, "db", "get", 3));
        assert_eq!(store.services(), vec!["app", "db"]);
        assert_eq!(store.span_names("APP"), vec!["child", "root"]);
        assert!(store.span_names("nobody").is_empty());
    }

    #[test]
    fn query_returns_newest_first_and_honours_limit() {
        let mut store = Store::new(10, 10);
        let now_ms = 1_700_000_000_000;
        for t in 1..=4 {
            store.insert(span(t, 1, "app", "root", (now_ms - 1000 + t) * 1000));
        }
        store.insert(span(9, 1, "other", "root", now_ms * 1000));
        let mut q = TraceQuery::ending_at(now_ms);
        q.service_name = Some("app".into());
        q.limit = 3;
        let found = store.query(&q);
        let ids: Vec<&str> = found.iter().map(|t| t[0].trace_id.as_str()).collect();
        assert_eq!(
            ids,
            vec!["0000000000000004", "0000000000000003", "0000000000000002"]
        );
    }

    #[test]
    fn trace_lookup_accepts_padded_128_bit_id() {
        let mut store = Store::new(10, 10);
        store.insert(span(0xabc, 1, "a", "x", 1));
        assert!(store.trace("0000000000000ABC").is_some());
        assert!(store.trace("00000000000000000000000000000ABC").is_some());
    }
}
