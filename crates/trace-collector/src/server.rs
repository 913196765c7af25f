//! HTTP routes: span intake (Zipkin v2 and OTLP/HTTP), Zipkin's query API,
//! and the embedded web viewer.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message as _;
use tokio::sync::OwnedSemaphorePermit;

use crate::analysis;
use crate::guard;
use crate::ingest::{self, Format, IngestError};
use crate::limits::Limits;
use crate::malloc;
use crate::metric_store::MetricStore;
use crate::metrics;
use crate::model::Span;
use crate::persist::SpanLog;
use crate::query::{now_ms, TraceQuery, DEFAULT_LIMIT, DEFAULT_LOOKBACK_MS};
use crate::store::{Store, StoreStats};
use crate::web;

/// Shared state of a running collector.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The spans held.
    pub store: Arc<RwLock<Store>>,
    /// The span log, when persisting.
    pub log: Option<Arc<SpanLog>>,
    /// Body, value, connection and time limits.
    pub limits: Limits,
    /// Required as `Authorization: Bearer <token>` on ingest routes, if set.
    pub ingest_token: Option<Arc<str>>,
    /// One permit per request body being buffered and decoded.
    pub ingest_slots: Arc<tokio::sync::Semaphore>,
    /// The metric series held.
    pub metrics: Arc<RwLock<MetricStore>>,
    /// Tag keys whose values `/api/v2/autocompleteValues` offers.
    pub autocomplete_keys: Arc<[String]>,
}

impl AppState {
    /// State around `store` with the given limits, optional ingest token and
    /// the tag keys autocomplete offers.
    pub fn new(
        store: Store,
        log: Option<Arc<SpanLog>>,
        limits: Limits,
        ingest_token: Option<String>,
        autocomplete_keys: Arc<[String]>,
    ) -> AppState {
        AppState {
            store: Arc::new(RwLock::new(store)),
            log,
            limits,
            ingest_token: ingest_token.map(Arc::from),
            ingest_slots: Arc::new(tokio::sync::Semaphore::new(
                limits.max_concurrent_ingests.max(1),
            )),
            metrics: Arc::new(RwLock::new(MetricStore::new(
                limits.max_metric_series,
                limits.max_points_per_series,
                limits.max_metric_bytes,
            ))),
            autocomplete_keys,
        }
    }

    /// The store, for reading.
    pub fn read(&self) -> RwLockReadGuard<'_, Store> {
        // Store methods never leave it half-updated, so a poisoned lock is still usable.
        self.store.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// A POST route behind the ingest guard ([`guard::admit`]).
fn ingest_route<H, T>(state: &AppState, handler: H) -> MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    post(handler).route_layer(from_fn_with_state(state.clone(), guard::admit))
}

/// All routes of the collector.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/api/v2/spans",
            ingest_route(&state, post_zipkin_spans).get(get_span_names),
        )
        .route("/v1/traces", ingest_route(&state, post_otlp_traces))
        .route("/v1/metrics", ingest_route(&state, post_otlp_metrics))
        .route("/api/metrics", get(get_metrics))
        .route("/api/v2/traceMany", get(get_trace_many))
        .route("/api/v2/services", get(get_services))
        .route("/api/v2/remoteServices", get(get_remote_services))
        .route("/api/v2/traces", get(get_traces))
        .route("/api/v2/trace/{id}", get(get_trace))
        .route("/api/collector/stats", get(get_stats))
        .route("/health", get(|| async { "ok" }))
        .merge(analysis::routes::routes())
        .merge(web::routes())
        // Bodies are size-checked by `read_body` with a clearer message.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// A client error: status plus a plain-text explanation.
#[derive(Debug)]
pub(crate) struct ApiError(pub(crate) StatusCode, pub(crate) String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.1 + "\n",
        )
            .into_response()
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> ApiError {
        tracing::debug!(error = %e, "rejected span batch");
        ApiError(e.status(), e.to_string())
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads the whole body, refusing more than `limit` bytes. The body is read
/// up to the limit even when `Content-Length` already says it is too big, so
/// the client has finished sending and can read the 413 instead of a reset.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, IngestError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let inner = e.into_inner();
        if inner.is::<http_body_util::LengthLimitError>() {
            IngestError::TooLarge { limit }
        } else {
            IngestError::Read(inner.to_string())
        }
    })
}

/// Reads, decompresses and parses one posted body: at most
/// `max_concurrent_ingests` bodies are handled at once (the returned permit
/// holds a place until dropped), the body must arrive within `body_timeout`
/// and stay within `limit` bytes before and after decompression. Also says
/// whether the body was large enough to trim memory after it.
async fn decode_body_with<T: Send + 'static>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    parse: impl FnOnce(&[u8]) -> Result<T, IngestError> + Send + 'static,
) -> Result<(T, bool, OwnedSemaphorePermit), ApiError> {
    let body_timeout = state.limits.body_timeout;
    let slot = state
        .ingest_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| {
            ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                "collector is shutting down".into(),
            )
        })?;
    let raw = tokio::time::timeout(body_timeout, read_body(body, limit))
        .await
        .map_err(|_| {
            ApiError(
                StatusCode::REQUEST_TIMEOUT,
                format!("request body not received within {body_timeout:?}"),
            )
        })??;
    let encoding = header_str(headers, header::CONTENT_ENCODING).map(str::to_owned);
    // Decompression and parsing are CPU work; keep them off the async workers.
    let parsed = tokio::task::spawn_blocking(move || {
        let decoded = ingest::decode_body(&raw, encoding.as_deref(), limit)?;
        let parsed = parse(&decoded);
        let large = decoded.len() >= malloc::TRIM_AFTER_BYTES;
        drop(decoded);
        drop(raw);
        if large && parsed.is_err() {
            malloc::trim();
        }
        parsed.map(|value| (value, large))
    })
    .await
    .map_err(|e| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("request decoding failed: {e}"),
        )
    })??;
    Ok((parsed.0, parsed.1, slot))
}

/// Returns the memory of a large batch, now freed, to the system.
fn trim_after(large: bool) {
    if large {
        tokio::task::spawn_blocking(malloc::trim);
    }
}

/// Decodes, validates, stores and logs one posted span batch; all or nothing.
async fn ingest(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    format: Format,
) -> Result<usize, ApiError> {
    let limits = state.limits;
    let (spans, large, _slot) = decode_body_with(
        state,
        headers,
        body,
        limits.max_body_bytes,
        move |decoded| ingest::parse_spans(decoded, format, &limits),
    )
    .await?;
    let stored = store_spans(state, spans).await;
    trim_after(large);
    stored
}

async fn store_spans(state: &AppState, spans: Vec<Span>) -> Result<usize, ApiError> {
    let count = spans.len();
    let Some(log) = state.log.clone() else {
        let mut store = state.write();
        for span in spans {
            store.insert(span);
        }
        return Ok(count);
    };
    let state = state.clone();
    // File writes block; they and the matching store update run off the async workers.
    let outcome = tokio::task::spawn_blocking(move || {
        let (logged, ()) = log.append_then(&spans, || {
            let mut store = state.write();
            for span in spans.iter().cloned() {
                store.insert(span);
            }
        });
        logged.and_then(|()| log.compact_if_grown(&state.store).map(|_| ()))
    })
    .await;
    match outcome {
        Ok(Ok(())) => {}
        // The spans are served from memory regardless; only the file missed them.
        Ok(Err(e)) => tracing::warn!(error = %e, "span log write failed"),
        Err(e) => tracing::warn!(error = %e, "span log writer task failed"),
    }
    Ok(count)
}

async fn post_zipkin_spans(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let format = ingest::zipkin_format(header_str(&headers, header::CONTENT_TYPE))?;
    ingest(&state, &headers, body, format).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn post_otlp_traces(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let format = ingest::otlp_format(header_str(&headers, header::CONTENT_TYPE))?;
    ingest(&state, &headers, body, format).await?;
    let reply = ExportTraceServiceResponse {
        partial_success: None,
    };
    Ok(otlp_reply(format, reply.encode_to_vec()))
}

/// The OTLP success answer, in the request's encoding.
fn otlp_reply(format: Format, protobuf: Vec<u8>) -> Response {
    match format {
        Format::OtlpProtobuf => {
            ([(header::CONTENT_TYPE, "application/x-protobuf")], protobuf).into_response()
        }
        _ => Json(serde_json::json!({})).into_response(),
    }
}

async fn post_otlp_metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let format = ingest::otlp_format(header_str(&headers, header::CONTENT_TYPE))?;
    let limit = state.limits.max_metrics_body_bytes;
    let (points, large, _slot) = decode_body_with(&state, &headers, body, limit, move |decoded| {
        Ok(match format {
            Format::OtlpProtobuf => metrics::points_from_protobuf(decoded)?,
            _ => metrics::points_from_json(decoded)?,
        })
    })
    .await?;
    {
        let mut store = state.metrics.write().unwrap_or_else(|p| p.into_inner());
        for (id, point) in points {
            store.insert(id, point);
        }
    }
    trim_after(large);
    let reply = opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse {
        partial_success: None,
    };
    Ok(otlp_reply(format, reply.encode_to_vec()))
}

/// `GET /api/metrics[?name=NAME]`: every series held (or those of one
/// metric) with their latest points; see [`crate::metric_store`].
async fn get_metrics(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let store = state.metrics.read().unwrap_or_else(|p| p.into_inner());
    json_response(&store.query(text(&params, "name").as_deref()))
}

async fn get_services(State(state): State<AppState>) -> Json<Vec<String>> {
    Json(state.read().services())
}

pub(crate) fn required<'a>(
    params: &'a HashMap<String, String>,
    name: &str,
) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError(
                StatusCode::BAD_REQUEST,
                format!("query parameter {name} is required"),
            )
        })
}

async fn get_span_names(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Vec<String>>, ApiError> {
    let service = required(&params, "serviceName")?;
    Ok(Json(state.read().span_names(service)))
}

async fn get_remote_services(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Vec<String>>, ApiError> {
    let service = required(&params, "serviceName")?;
    Ok(Json(state.read().remote_services(service)))
}

pub(crate) fn number<T: std::str::FromStr>(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<T>, ApiError> {
    match params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ApiError(
                StatusCode::BAD_REQUEST,
                format!("query parameter {name}={v:?} is not a non-negative integer"),
            )
        }),
    }
}

pub(crate) fn text(params: &HashMap<String, String>, name: &str) -> Option<String> {
    // Zipkin UIs send "all" to mean no filter.
    params
        .get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty() && v != "all")
}

/// Parses `/api/v2/traces` parameters into a query.
fn trace_query(params: &HashMap<String, String>) -> Result<TraceQuery, ApiError> {
    let limit = number::<usize>(params, "limit")?.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "limit must be at least 1".into(),
        ));
    }
    Ok(TraceQuery {
        service_name: text(params, "serviceName"),
        span_name: text(params, "spanName"),
        min_duration: number(params, "minDuration")?,
        max_duration: number(params, "maxDuration")?,
        end_ts_ms: number(params, "endTs")?.unwrap_or_else(now_ms),
        lookback_ms: number(params, "lookback")?.unwrap_or(DEFAULT_LOOKBACK_MS),
        limit,
        annotation_query: text(params, "annotationQuery"),
    })
}

async fn get_traces(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let query = trace_query(&params)?;
    let store = state.read();
    json_response(&store.query_refs(&query))
}

/// Serializes `value` as the JSON answer (from borrowed spans: no copy of
/// them is made).
fn json_response(value: &impl serde::Serialize) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(|e| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("could not encode the answer: {e}"),
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn get_trace(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Span>>, ApiError> {
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("trace id {id:?} is not 16 or 32 hex characters"),
        ));
    }
    state
        .read()
        .trace(&id)
        .map(Json)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("trace {id} not found")))
}

/// `GET /api/v2/traceMany?traceIds=a,b`: the traces held among those asked
/// for, in the order asked, each as a list of spans (possibly none). As the
/// API spec says, fewer than two ids, a repeated id or one that is not 16 to
/// 32 hex characters is a 400.
async fn get_trace_many(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Vec<Vec<Span>>>, ApiError> {
    let ids = trace_ids(required(&params, "traceIds")?)?;
    let store = state.read();
    Ok(Json(ids.iter().filter_map(|id| store.trace(id)).collect()))
}

/// Parses `traceIds`: comma-separated, at least two, none repeated (ids
/// compare zero-padded to 32 characters, so a 64-bit id and its padded
/// 128-bit form are the same trace).
fn trace_ids(list: &str) -> Result<Vec<String>, ApiError> {
    let bad = |why: String| ApiError(StatusCode::BAD_REQUEST, why);
    let mut ids: Vec<String> = Vec::new();
    for raw in list.split(',').map(str::trim) {
        let id = Some(raw)
            .filter(|r| r.len() >= 16)
            .and_then(|r| crate::model::normalize_hex(r, &[32]))
            .ok_or_else(|| bad(format!("trace id {raw:?} is not 16 to 32 hex characters")))?;
        if ids.contains(&id) {
            return Err(bad(format!("trace id {raw:?} is listed twice")));
        }
        ids.push(id);
    }
    if ids.len() < 2 {
        return Err(bad(
            "traceIds needs at least two trace ids; use /api/v2/trace/{traceId} for one".into(),
        ));
    }
    Ok(ids)
}

async fn get_stats(State(state): State<AppState>) -> Json<StoreStats> {
    Json(state.read().stats())
}
