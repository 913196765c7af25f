//! HTTP routes: span intake (Zipkin v2 and OTLP/HTTP), Zipkin's query API,
//! and the embedded web viewer.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message as _;

use crate::ingest::{self, Format, IngestError};
use crate::model::Span;
use crate::persist::SpanLog;
use crate::query::{now_ms, TraceQuery, DEFAULT_LIMIT, DEFAULT_LOOKBACK_MS};
use crate::store::{Store, StoreStats};
use crate::web;

/// Shared state of a running collector.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The spans received.
    pub store: Arc<RwLock<Store>>,
    /// Where spans are appended, when persistence is on.
    pub log: Option<Arc<SpanLog>>,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
}

impl AppState {
    /// The store, for reading.
    pub fn read(&self) -> RwLockReadGuard<'_, Store> {
        // Store methods never leave it half-updated, so a poisoned lock is still usable.
        self.store.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// All routes of the collector.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v2/spans", post(post_zipkin_spans).get(get_span_names))
        .route("/v1/traces", post(post_otlp_traces))
        .route("/api/v2/services", get(get_services))
        .route("/api/v2/remoteServices", get(get_remote_services))
        .route("/api/v2/traces", get(get_traces))
        .route("/api/v2/trace/{id}", get(get_trace))
        .route("/api/collector/stats", get(get_stats))
        .route("/health", get(|| async { "ok" }))
        .merge(web::routes())
        // Bodies are size-checked by `read_body` with a clearer message.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// A client error: status plus a plain-text explanation.
#[derive(Debug)]
struct ApiError(StatusCode, String);

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

/// Decodes, validates, stores and logs one posted batch; all or nothing.
async fn ingest(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    format: Format,
) -> Result<usize, ApiError> {
    let raw = read_body(body, state.max_body_bytes).await?;
    let limit = state.max_body_bytes;
    let encoding = header_str(headers, header::CONTENT_ENCODING).map(str::to_owned);
    // Decompression and parsing are CPU work; keep them off the async workers.
    let parsed = tokio::task::spawn_blocking(move || {
        let decoded = ingest::decode_body(&raw, encoding.as_deref(), limit)?;
        ingest::parse_spans(&decoded, format)
    })
    .await
    .map_err(|e| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("span decoding failed: {e}"),
        )
    })??;
    store_spans(state, parsed).await
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
    Ok(match format {
        Format::OtlpProtobuf => (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            reply.encode_to_vec(),
        )
            .into_response(),
        _ => Json(serde_json::json!({})).into_response(),
    })
}

async fn get_services(State(state): State<AppState>) -> Json<Vec<String>> {
    Json(state.read().services())
}

fn required<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
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

fn number<T: std::str::FromStr>(
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

fn text(params: &HashMap<String, String>, name: &str) -> Option<String> {
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
) -> Result<Json<Vec<Vec<Span>>>, ApiError> {
    let query = trace_query(&params)?;
    Ok(Json(state.read().query(&query)))
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

async fn get_stats(State(state): State<AppState>) -> Json<StoreStats> {
    Json(state.read().stats())
}
