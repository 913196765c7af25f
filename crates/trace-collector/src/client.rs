//! A small blocking client for the Zipkin query API, used by the terminal
//! view (`trace-collector print`) and by the demo task to show the newest
//! trace. Works against this collector or a real Zipkin server.

use std::time::{Duration, Instant};

use crate::model::Span;
use crate::query::now_ms;
use crate::tree::{render_tree, root_span};

/// How many candidate traces to inspect when looking for a root span name.
const SEARCH_LIMIT: usize = 100;

/// A query against a collector failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The HTTP request failed.
    #[error("GET {url}: {source}")]
    Http {
        /// The URL asked.
        url: String,
        /// What went wrong.
        source: Box<ureq::Error>,
    },
    /// The answer was not Zipkin v2 JSON.
    #[error("GET {url}: response is not Zipkin v2 JSON: {source}")]
    Json {
        /// The URL asked.
        url: String,
        /// Why it did not parse.
        source: serde_json::Error,
    },
    /// The collector has no trace with this id.
    #[error("trace {0} not found")]
    TraceNotFound(String),
    /// No stored trace matches the query.
    #[error("no trace matches {0}")]
    NoMatchingTrace(String),
}

/// Which trace to pick: the newest one matching every given field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceFilter {
    /// A service that recorded at least one span of the trace.
    pub service_name: Option<String>,
    /// The name of the trace's root span (case-insensitive).
    pub root_span_name: Option<String>,
}

impl TraceFilter {
    /// Traces whose root span has this name.
    pub fn root(name: impl Into<String>) -> TraceFilter {
        TraceFilter {
            root_span_name: Some(name.into()),
            ..TraceFilter::default()
        }
    }

    /// Traces this service took part in.
    pub fn service(name: impl Into<String>) -> TraceFilter {
        TraceFilter {
            service_name: Some(name.into()),
            ..TraceFilter::default()
        }
    }

    fn describe(&self) -> String {
        match (&self.service_name, &self.root_span_name) {
            (None, None) => "any trace".into(),
            (Some(s), None) => format!("service {s:?}"),
            (None, Some(r)) => format!("root span {r:?}"),
            (Some(s), Some(r)) => format!("service {s:?} with root span {r:?}"),
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn get_json<T: serde::de::DeserializeOwned>(
    url: &str,
    query: &[(&str, String)],
) -> Result<T, ClientError> {
    let http = |source: ureq::Error| ClientError::Http {
        url: url.to_owned(),
        source: Box::new(source),
    };
    let mut request = agent().get(url);
    for (key, value) in query {
        request = request.query(*key, value);
    }
    let mut response = request.call().map_err(http)?;
    let text = response
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_string()
        .map_err(http)?;
    serde_json::from_str(&text).map_err(|source| ClientError::Json {
        url: url.to_owned(),
        source,
    })
}

fn base(url: &str) -> &str {
    url.trim_end_matches('/')
}

/// Fetches one trace's spans via `GET /api/v2/trace/{id}`.
pub fn fetch_trace(base_url: &str, trace_id: &str) -> Result<Vec<Span>, ClientError> {
    let url = format!("{}/api/v2/trace/{}", base(base_url), trace_id);
    match get_json(&url, &[]) {
        Err(ClientError::Http { source, .. })
            if matches!(*source, ureq::Error::StatusCode(404)) =>
        {
            Err(ClientError::TraceNotFound(trace_id.to_owned()))
        }
        other => other,
    }
}

/// The newest trace matching `filter`, if the collector holds one.
pub fn find_latest_trace(
    base_url: &str,
    filter: &TraceFilter,
) -> Result<Option<Vec<Span>>, ClientError> {
    let now = now_ms();
    let mut query = vec![
        ("limit", SEARCH_LIMIT.to_string()),
        // Everything since the epoch: the collector's own cap bounds the answer.
        ("lookback", now.to_string()),
        ("endTs", now.saturating_add(60_000).to_string()),
    ];
    if let Some(service) = &filter.service_name {
        query.push(("serviceName", service.clone()));
    }
    if let Some(root) = &filter.root_span_name {
        query.push(("spanName", root.clone()));
    }
    let url = format!("{}/api/v2/traces", base(base_url));
    let traces: Vec<Vec<Span>> = get_json(&url, &query)?;
    // The API returns newest first; the span name must belong to the root.
    Ok(traces.into_iter().find(|spans| {
        filter.root_span_name.as_deref().is_none_or(|want| {
            root_span(spans)
                .and_then(|r| r.name.as_deref())
                .is_some_and(|n| n.eq_ignore_ascii_case(want))
        })
    }))
}

/// Polls until a trace matching `filter` appears (exporters send in batches),
/// giving up after `timeout`.
pub fn wait_for_trace(
    base_url: &str,
    filter: &TraceFilter,
    timeout: Duration,
) -> Result<Vec<Span>, ClientError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(spans) = find_latest_trace(base_url, filter)? {
            return Ok(spans);
        }
        if Instant::now() >= deadline {
            return Err(ClientError::NoMatchingTrace(filter.describe()));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Renders one trace, fetched by id, as an indented tree.
pub fn render_trace(base_url: &str, trace_id: &str) -> Result<String, ClientError> {
    Ok(render_tree(&fetch_trace(base_url, trace_id)?))
}

/// Renders the newest trace matching `filter` as an indented tree.
pub fn render_latest(base_url: &str, filter: &TraceFilter) -> Result<String, ClientError> {
    match find_latest_trace(base_url, filter)? {
        Some(spans) => Ok(render_tree(&spans)),
        None => Err(ClientError::NoMatchingTrace(filter.describe())),
    }
}
