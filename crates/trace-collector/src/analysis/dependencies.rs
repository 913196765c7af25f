//! Zipkin's `/api/v2/dependencies`: links between services, derived from the
//! RPC and messaging spans of each trace.
//!
//! A link goes from caller to callee and is counted once per call:
//! - a `CLIENT` span links its service to the service of the `SERVER` span
//!   that answered it (same id and `shared`, or a child of the client span),
//!   else to its remote service (an uninstrumented callee such as memcached);
//! - a `PRODUCER` span links to its remote service (the broker), else to
//!   the consumer that received it;
//! - a `SERVER` or `CONSUMER` span whose caller is not among the spans (or,
//!   for a consumer, that names its broker) links from its remote endpoint, else
//!   from the nearest ancestor span of another service;
//! - a span without a kind that names both ends is read as a client.
//!
//! A span's remote service is `remoteEndpoint.serviceName`, else its
//! `peer.service` tag, else (as OpenTelemetry Collector's service graph draws
//! "virtual nodes" for databases) its `db.system.name` or `db.system` tag.
//!
//! A call is in error when either side carries Zipkin's `error` tag.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::TimeWindow;
use crate::model::{Kind, Span};

/// One edge of the service graph, as Zipkin's `DependencyLink`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DependencyLink {
    /// The caller: client, producer, or broker.
    pub parent: String,
    /// The callee: server, consumer, or broker.
    pub child: String,
    /// Calls made from `parent` to `child`.
    pub call_count: u64,
    /// Of those, calls known to have failed.
    pub error_count: u64,
}

/// Links among the traces in `traces` (each the spans of one trace), counting
/// only spans that start inside `window`; sorted by parent, then child.
pub fn dependency_links<'a>(traces: &[Vec<&'a Span>], window: TimeWindow) -> Vec<DependencyLink> {
    let mut counts: BTreeMap<(&'a str, &'a str), (u64, u64)> = BTreeMap::new();
    for trace in traces {
        let view = TraceView::new(trace);
        for span in trace.iter().filter(|s| window.contains(s.timestamp)) {
            if let Some((parent, child, error)) = view.link_of(span) {
                let entry = counts.entry((parent, child)).or_default();
                entry.0 += 1;
                entry.1 += u64::from(error);
            }
        }
    }
    counts
        .into_iter()
        .map(
            |((parent, child), (call_count, error_count))| DependencyLink {
                parent: parent.to_owned(),
                child: child.to_owned(),
                call_count,
                error_count,
            },
        )
        .collect()
}

/// Tags that name the service a client talked to when its remote endpoint
/// does not, in order of preference.
const REMOTE_SERVICE_TAGS: [&str; 3] = ["peer.service", "db.system.name", "db.system"];

/// The service on the other side of `span`, as far as the span itself says.
fn remote_service(span: &Span) -> Option<&str> {
    span.remote_service_name().or_else(|| {
        REMOTE_SERVICE_TAGS
            .iter()
            .find_map(|tag| span.tags.get(*tag).map(String::as_str))
            .filter(|s| !s.is_empty())
    })
}

/// The spans of one trace, sorted by span id and by parent id (one
/// allocation each, no hashing: this runs for every held trace).
struct TraceView<'a> {
    by_id: Vec<(&'a str, &'a Span)>,
    by_parent: Vec<(&'a str, &'a Span)>,
}

/// The spans filed under `key` in a list sorted by key.
fn filed<'a, 'k>(
    list: &'k [(&'a str, &'a Span)],
    key: &'k str,
) -> impl Iterator<Item = &'a Span> + 'k {
    let from = list.partition_point(|(k, _)| *k < key);
    list[from..]
        .iter()
        .take_while(move |(k, _)| *k == key)
        .map(|(_, s)| *s)
}

impl<'a> TraceView<'a> {
    fn new(spans: &[&'a Span]) -> TraceView<'a> {
        let mut by_id: Vec<(&str, &Span)> = spans.iter().map(|s| (s.id.as_str(), *s)).collect();
        let mut by_parent: Vec<(&str, &Span)> = spans
            .iter()
            .filter_map(|s| Some((s.parent_id.as_deref()?, *s)))
            .collect();
        by_id.sort_unstable_by_key(|(k, _)| *k);
        by_parent.sort_unstable_by_key(|(k, _)| *k);
        TraceView { by_id, by_parent }
    }

    /// `(parent service, child service, in error)` for the call `span` stands for.
    fn link_of(&self, span: &'a Span) -> Option<(&'a str, &'a str, bool)> {
        let kind = span.kind.or_else(|| {
            (span.service_name().is_some() && remote_service(span).is_some())
                .then_some(Kind::Client)
        })?;
        match kind {
            Kind::Client | Kind::Producer => {
                let parent = span.service_name()?;
                let callee = self.callee_of(span);
                let callee_service = callee.and_then(Span::service_name);
                let child = if kind == Kind::Client {
                    callee_service.or_else(|| remote_service(span))
                } else {
                    remote_service(span).or(callee_service)
                }?;
                Some((
                    parent,
                    child,
                    span.is_error() || callee.is_some_and(Span::is_error),
                ))
            }
            Kind::Server | Kind::Consumer => {
                let child = span.service_name()?;
                let broker = (kind == Kind::Consumer)
                    .then(|| span.remote_service_name())
                    .flatten();
                if broker.is_none() && self.caller_of(span).is_some() {
                    // Counted from the caller's side.
                    return None;
                }
                let parent = span
                    .remote_service_name()
                    .or_else(|| self.ancestor_service_other_than(span, child))?;
                Some((parent, child, span.is_error()))
            }
        }
    }

    /// The instrumented server or consumer span answering `caller`.
    fn callee_of(&self, caller: &Span) -> Option<&'a Span> {
        let answers = |s: &&'a Span| {
            matches!(s.kind, Some(Kind::Server | Kind::Consumer)) && s.service_name().is_some()
        };
        let same_id = filed(&self.by_id, &caller.id).filter(|s| s.shared);
        let children = filed(&self.by_parent, &caller.id);
        same_id.chain(children).find(answers)
    }

    /// The instrumented client or producer span that `callee` answered.
    fn caller_of(&self, callee: &Span) -> Option<&'a Span> {
        let calls = |s: &&'a Span| {
            matches!(s.kind, Some(Kind::Client | Kind::Producer)) && s.service_name().is_some()
        };
        let same_id = filed(&self.by_id, &callee.id).filter(|_| callee.shared);
        let parent = callee
            .parent_id
            .as_deref()
            .into_iter()
            .flat_map(|p| filed(&self.by_id, p));
        same_id.chain(parent).find(calls)
    }

    /// The service of the nearest ancestor whose service is not `own`.
    fn ancestor_service_other_than(&self, span: &Span, own: &str) -> Option<&'a str> {
        let mut next = span.parent_id.as_deref();
        // Bounded walk: bad data may hold a parent cycle.
        for _ in 0..self.by_id.len() {
            let parent = filed(&self.by_id, next?).next()?;
            match parent.service_name() {
                Some(service) if service != own => return Some(service),
                _ => next = parent.parent_id.as_deref(),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Endpoint;

    fn endpoint(service: &str) -> Option<Endpoint> {
        Some(Endpoint {
            service_name: Some(service.into()),
            ..Endpoint::default()
        })
    }

    fn span(id: &str, parent: Option<&str>, kind: Option<Kind>, service: &str) -> Span {
        Span {
            trace_id: "0000000000000001".into(),
            id: id.into(),
            parent_id: parent.map(str::to_owned),
            kind,
            timestamp: Some(1_000_000),
            local_endpoint: endpoint(service),
            ..Span::default()
        }
    }

    fn links(spans: &[Span]) -> Vec<(String, String, u64, u64)> {
        let trace: Vec<&Span> = spans.iter().collect();
        dependency_links(&[trace], TimeWindow::ALL)
            .into_iter()
            .map(|l| (l.parent, l.child, l.call_count, l.error_count))
            .collect()
    }

    fn link(parent: &str, child: &str, calls: u64, errors: u64) -> (String, String, u64, u64) {
        (parent.into(), child.into(), calls, errors)
    }

    #[test]
    fn client_to_uninstrumented_remote_counts_each_call() {
        let mut get = span("b", Some("a"), Some(Kind::Client), "app");
        get.remote_endpoint = endpoint("memcached");
        let mut set = get.clone();
        set.id = "c".into();
        set.tags.insert("error".into(), "timeout".into());
        let root = span("a", None, Some(Kind::Server), "app");
        assert_eq!(
            links(&[root, get, set]),
            vec![link("app", "memcached", 2, 1)]
        );
    }

    #[test]
    fn peer_service_and_database_tags_name_an_uninstrumented_remote() {
        let mut get = span("b", Some("a"), Some(Kind::Client), "sqrt-demo");
        get.tags.insert("db.system.name".into(), "memcached".into());
        let mut peer = span("c", Some("a"), Some(Kind::Client), "sqrt-demo");
        peer.tags.insert("peer.service".into(), "memcached".into());
        peer.tags.insert(
            "db.system".into(),
            "ignored-when-peer-service-is-set".into(),
        );
        assert_eq!(
            links(&[get, peer]),
            vec![link("sqrt-demo", "memcached", 2, 0)]
        );
    }

    #[test]
    fn client_and_server_halves_count_once() {
        // Shared span id (Zipkin B3 style) and parent/child ids (OpenTelemetry style).
        let client = span("b", Some("a"), Some(Kind::Client), "web");
        let mut shared = span("b", Some("a"), Some(Kind::Server), "api");
        shared.shared = true;
        shared.tags.insert("error".into(), "500".into());
        assert_eq!(
            links(&[client.clone(), shared]),
            vec![link("web", "api", 1, 1)]
        );
        let child = span("c", Some("b"), Some(Kind::Server), "api");
        assert_eq!(links(&[client, child]), vec![link("web", "api", 1, 0)]);
    }

    #[test]
    fn server_without_instrumented_caller_uses_remote_or_ancestor() {
        let mut server = span("b", None, Some(Kind::Server), "api");
        server.remote_endpoint = endpoint("browser");
        assert_eq!(links(&[server]), vec![link("browser", "api", 1, 0)]);
        // A root server span with no remote end links nothing.
        assert!(links(&[span("a", None, Some(Kind::Server), "api")]).is_empty());
        let local = span("a", None, None, "batch");
        let server = span("b", Some("a"), Some(Kind::Server), "api");
        assert_eq!(links(&[local, server]), vec![link("batch", "api", 1, 0)]);
    }

    #[test]
    fn messaging_goes_through_the_broker() {
        let mut producer = span("b", Some("a"), Some(Kind::Producer), "orders");
        producer.remote_endpoint = endpoint("kafka");
        let mut consumer = span("c", Some("b"), Some(Kind::Consumer), "billing");
        consumer.remote_endpoint = endpoint("kafka");
        assert_eq!(
            links(&[producer, consumer]),
            vec![
                link("kafka", "billing", 1, 0),
                link("orders", "kafka", 1, 0)
            ]
        );
    }

    #[test]
    fn window_excludes_spans_outside_it_and_cycles_terminate() {
        let mut early = span("b", Some("a"), Some(Kind::Client), "app");
        early.remote_endpoint = endpoint("memcached");
        early.timestamp = Some(1_000); // 1 ms after the epoch
        let trace: Vec<&Span> = vec![&early];
        let window = TimeWindow {
            end_ts_ms: 10,
            lookback_ms: 5,
        };
        assert!(dependency_links(std::slice::from_ref(&trace), window).is_empty());
        let window = TimeWindow {
            end_ts_ms: 10,
            lookback_ms: 10,
        };
        assert_eq!(dependency_links(&[trace], window).len(), 1);
        // x -> y -> x parent cycle, no link: must terminate.
        let a = span("x", Some("y"), None, "s");
        let b = span("y", Some("x"), Some(Kind::Server), "s");
        assert!(links(&[a, b]).is_empty());
    }
}
