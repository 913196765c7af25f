//! Bounded in-memory span storage, grouped by trace.
//!
//! Memory stays bounded three ways: at most `max_traces` traces are kept,
//! the spans held weigh at most `max_bytes` (as estimated by
//! [`Span::approx_bytes`] plus index overhead), and a single trace keeps at
//! most `max_spans_per_trace` spans. When a new span would break the trace
//! or byte bound, the traces that arrived first are evicted first (never the
//! trace the span belongs to); a span that cannot fit even then, or that
//! belongs to an overfull trace, is dropped and counted. A span arriving
//! again with the same id, kind and `shared` flag replaces the earlier copy,
//! so retries and reloads do not duplicate it.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::model::{Kind, Span};
use crate::query::{trace_start, TraceQuery};

/// Default cap on the number of traces held.
pub const DEFAULT_MAX_TRACES: usize = 1_000;
/// Default cap on the number of spans held for one trace.
pub const DEFAULT_MAX_SPANS_PER_TRACE: usize = 10_000;
/// Default byte budget of the store (128 MiB), in [`Span::approx_bytes`]
/// units plus index overhead.
pub const DEFAULT_MAX_BYTES: usize = 128 * 1024 * 1024;

/// What one stored span costs beyond [`Span::approx_bytes`]: the slack of
/// its trace's span vector (which at most doubles, so up to one more
/// `Span`) and its index entry with the hash map's slack (a copy of the id,
/// the key's flags, the slot).
const SPAN_OVERHEAD_BYTES: usize = std::mem::size_of::<Span>() + 128;
/// What one held trace costs beyond its spans: the map entry, the copies of
/// its id in the map and the arrival queue, the smallest index allocation.
const TRACE_BYTES: usize = 512;

/// What happened to a span handed to [`Store::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// A new span was stored.
    Added,
    /// An earlier copy of the same span was replaced.
    Replaced,
    /// The span's trace is full, or the span alone is larger than the byte
    /// budget; the span was dropped.
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
    /// Estimated bytes held (see [`Span::approx_bytes`]).
    pub bytes: usize,
    /// Traces evicted to respect `max_traces` or `max_bytes`.
    pub evicted_traces: u64,
    /// Spans refused because their trace was full or they could not fit.
    pub dropped_spans: u64,
    /// Cap on traces held.
    pub max_traces: usize,
    /// Byte budget.
    pub max_bytes: usize,
}

type SpanKey = (String, bool, Option<Kind>);

#[derive(Debug, Default)]
struct Trace {
    spans: Vec<Span>,
    index: HashMap<SpanKey, usize>,
    /// Estimated bytes of this trace, [`TRACE_BYTES`] included.
    bytes: usize,
}

/// Spans grouped by trace id, with oldest-first eviction.
#[derive(Debug)]
pub struct Store {
    traces: HashMap<String, Trace>,
    /// Trace ids in order of first arrival; the front is evicted first.
    arrival: VecDeque<String>,
    max_traces: usize,
    max_spans_per_trace: usize,
    max_bytes: usize,
    span_count: usize,
    bytes: usize,
    evicted_traces: u64,
    dropped_spans: u64,
}

fn span_cost(span: &Span) -> usize {
    span.approx_bytes() + SPAN_OVERHEAD_BYTES
}

impl Store {
    /// A store holding at most `max_traces` traces of at most
    /// `max_spans_per_trace` spans each (both at least 1), within
    /// [`DEFAULT_MAX_BYTES`] (see [`Store::with_max_bytes`]).
    pub fn new(max_traces: usize, max_spans_per_trace: usize) -> Store {
        Store {
            traces: HashMap::new(),
            arrival: VecDeque::new(),
            max_traces: max_traces.max(1),
            max_spans_per_trace: max_spans_per_trace.max(1),
            max_bytes: DEFAULT_MAX_BYTES,
            span_count: 0,
            bytes: 0,
            evicted_traces: 0,
            dropped_spans: 0,
        }
    }

    /// The same store with a byte budget of `max_bytes` instead (evicting
    /// the oldest traces at once if it already holds more).
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Store {
        self.max_bytes = max_bytes;
        while self.bytes > self.max_bytes && self.evict_oldest_except("") {}
        self
    }

    /// Stores one (normalized) span, evicting the oldest traces if a new
    /// trace would exceed the trace cap or the span would exceed the byte
    /// budget.
    pub fn insert(&mut self, span: Span) -> Inserted {
        let key: SpanKey = (span.id.clone(), span.shared, span.kind);
        let cost = span_cost(&span);
        let existing = self.traces.get(&span.trace_id);
        let replaced = existing.and_then(|t| t.index.get(&key).map(|&at| span_cost(&t.spans[at])));
        let trace_full = existing.is_some_and(|t| t.spans.len() >= self.max_spans_per_trace);
        let is_new_trace = existing.is_none();
        let needed = cost + if is_new_trace { TRACE_BYTES } else { 0 };
        // Nothing is evicted for a span that could never fit.
        if (replaced.is_none() && trace_full) || needed > self.max_bytes {
            self.dropped_spans += 1;
            return Inserted::Dropped;
        }
        if is_new_trace {
            while self.traces.len() >= self.max_traces && self.evict_oldest_except("") {}
        }
        let freed = replaced.unwrap_or(0);
        while self.bytes + needed > self.max_bytes + freed {
            if !self.evict_oldest_except(&span.trace_id) {
                self.dropped_spans += 1;
                return Inserted::Dropped;
            }
        }
        if is_new_trace {
            self.arrival.push_back(span.trace_id.clone());
        }
        self.bytes = self.bytes + needed - freed;
        // Capacity 1, not the default 4: most traces are small, and the
        // vector then never holds more than twice the slots it uses.
        let trace = self
            .traces
            .entry(span.trace_id.clone())
            .or_insert_with(|| Trace {
                spans: Vec::with_capacity(1),
                index: HashMap::with_capacity(1),
                bytes: 0,
            });
        trace.bytes = trace.bytes + needed - freed;
        if let Some(&at) = trace.index.get(&key) {
            trace.spans[at] = span;
            return Inserted::Replaced;
        }
        trace.index.insert(key, trace.spans.len());
        trace.spans.push(span);
        self.span_count += 1;
        Inserted::Added
    }

    /// Evicts the trace that arrived first, other than `keep`; false when
    /// there is none.
    fn evict_oldest_except(&mut self, keep: &str) -> bool {
        let Some(at) = self.arrival.iter().position(|id| id != keep) else {
            return false;
        };
        let Some(id) = self.arrival.remove(at) else {
            return false;
        };
        if let Some(trace) = self.traces.remove(&id) {
            self.span_count -= trace.spans.len();
            self.bytes -= trace.bytes;
            self.evicted_traces += 1;
        }
        true
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
        self.query_refs(query)
            .into_iter()
            .map(|t| t.into_iter().cloned().collect())
            .collect()
    }

    /// [`Store::query`] without copying the spans (for serializing the
    /// answer while the store is locked: a copy would double the memory a
    /// query for everything takes).
    pub fn query_refs(&self, query: &TraceQuery) -> Vec<Vec<&Span>> {
        let mut hits: Vec<(u64, &Trace)> = self
            .traces
            .values()
            .filter(|t| query.matches(&t.spans))
            .map(|t| (trace_start(&t.spans).unwrap_or(0), t))
            .collect();
        hits.sort_by_key(|&(start, _)| std::cmp::Reverse(start));
        hits.into_iter()
            .take(query.limit)
            .map(|(_, t)| sorted_refs(&t.spans))
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
            bytes: self.bytes,
            evicted_traces: self.evicted_traces,
            dropped_spans: self.dropped_spans,
            max_traces: self.max_traces,
            max_bytes: self.max_bytes,
        }
    }
}

fn sorted(spans: &[Span]) -> Vec<Span> {
    sorted_refs(spans).into_iter().cloned().collect()
}

fn sorted_refs(spans: &[Span]) -> Vec<&Span> {
    let mut out: Vec<&Span> = spans.iter().collect();
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

    fn big_span(trace: u64, id: u64, tag_bytes: usize) -> Span {
        let mut s = span(trace, id, "a", "x", trace);
        s.tags.insert("payload".into(), "p".repeat(tag_bytes));
        s
    }

    #[test]
    fn byte_budget_evicts_oldest_traces_first() {
        let budget = 1_000_000;
        let mut store = Store::new(1_000, 100).with_max_bytes(budget);
        for t in 0..50 {
            assert_eq!(store.insert(big_span(t, 1, 100_000)), Inserted::Added);
            let stats = store.stats();
            assert!(stats.bytes <= budget, "{stats:?}");
            assert_eq!(
                stats.bytes,
                store.spans().map(span_cost).sum::<usize>() + stats.traces * TRACE_BYTES
            );
        }
        let stats = store.stats();
        assert!(stats.traces >= 8 && stats.traces < 10, "{stats:?}");
        assert_eq!(stats.evicted_traces, 50 - stats.traces as u64);
        // The newest traces are the ones kept.
        assert!(store.trace(&format!("{:016x}", 49)).is_some());
        assert!(store.trace(&format!("{:016x}", 0)).is_none());
    }

    #[test]
    fn a_growing_trace_evicts_others_but_never_itself() {
        let mut store = Store::new(1_000, 100).with_max_bytes(500_000);
        store.insert(big_span(1, 1, 100_000));
        store.insert(big_span(2, 1, 100_000));
        for id in 1..10 {
            store.insert(big_span(3, id, 100_000));
        }
        // Trace 3 pushed out 1 and 2, then could not grow past the budget.
        assert!(store.trace(&format!("{:016x}", 1)).is_none());
        assert!(store.trace(&format!("{:016x}", 2)).is_none());
        let kept = store.trace(&format!("{:016x}", 3)).unwrap().len();
        assert_eq!(kept, 4);
        assert_eq!(store.stats().dropped_spans, 9 - 4);
        assert!(store.stats().bytes <= 500_000);
        // A span larger than the whole budget is dropped, nothing evicted for it.
        assert_eq!(store.insert(big_span(4, 1, 600_000)), Inserted::Dropped);
        assert_eq!(store.stats().traces, 1);
    }

    #[test]
    fn replacing_a_span_updates_the_byte_count() {
        let mut store = Store::new(10, 10);
        store.insert(big_span(1, 1, 10_000));
        let before = store.stats().bytes;
        assert_eq!(store.insert(big_span(1, 1, 10)), Inserted::Replaced);
        assert_eq!(store.stats().bytes, before - 9_990);
        assert_eq!(
            Store::new(10, 10)
                .with_max_bytes(1)
                .insert(span(1, 1, "a", "x", 1)),
            Inserted::Dropped
        );
    }
}
