//! HTTP routes for the analyses: Zipkin's `autocompleteKeys`,
//! `autocompleteValues` and `dependencies`, and the collector's own
//! `/api/collector/operations` and `/api/collector/cache-metrics`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use super::{autocomplete_values, by_trace, dependency_links, operation_stats, TimeWindow};
use super::{CacheMetrics, DependencyLink, OperationStats};
use crate::server::{number, required, text, ApiError, AppState};

/// The analysis routes, to merge into the collector's router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v2/autocompleteKeys", get(get_autocomplete_keys))
        .route("/api/v2/autocompleteValues", get(get_autocomplete_values))
        .route("/api/v2/dependencies", get(get_dependencies))
        .route("/api/collector/operations", get(get_operations))
        .route("/api/collector/cache-metrics", get(get_cache_metrics))
}

/// Hit ratio and latency per operation from the metrics held.
async fn get_cache_metrics(State(state): State<AppState>) -> Json<CacheMetrics> {
    let metrics = state.metrics.read().unwrap_or_else(|p| p.into_inner());
    Json(CacheMetrics::from_store(&metrics))
}

/// Runs a scan of the store off the async workers: a full store is large.
async fn scan<T: Send + 'static>(
    state: AppState,
    work: impl FnOnce(&AppState) -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || work(&state))
        .await
        .map_err(|e| {
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("analysis task failed: {e}"),
            )
        })
}

async fn get_autocomplete_keys(State(state): State<AppState>) -> Json<Vec<String>> {
    Json(state.autocomplete_keys.to_vec())
}

async fn get_autocomplete_values(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Vec<String>>, ApiError> {
    let key = required(&params, "key")?.to_owned();
    let values = scan(state, move |state| {
        autocomplete_values(state.read().spans(), &state.autocomplete_keys, &key)
    })
    .await?;
    Ok(Json(values))
}

/// `endTs` (required, as the spec says) and `lookback` (defaults to `endTs`:
/// everything up to `endTs`).
fn window(params: &HashMap<String, String>, end_required: bool) -> Result<TimeWindow, ApiError> {
    let end_ts_ms = match number::<u64>(params, "endTs")? {
        Some(end) => end,
        None if end_required => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "query parameter endTs is required".into(),
            ))
        }
        None => u64::MAX,
    };
    let lookback_ms = number::<u64>(params, "lookback")?.unwrap_or(end_ts_ms);
    Ok(TimeWindow {
        end_ts_ms,
        lookback_ms,
    })
}

async fn get_dependencies(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Vec<DependencyLink>>, ApiError> {
    let window = window(&params, true)?;
    let links = scan(state, move |state| {
        let store = state.read();
        dependency_links(&by_trace(store.spans()), window)
    })
    .await?;
    Ok(Json(links))
}

async fn get_operations(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Vec<OperationStats>>, ApiError> {
    let window = window(&params, false)?;
    let service = text(&params, "serviceName");
    let stats = scan(state, move |state| {
        operation_stats(state.read().spans(), service.as_deref(), window)
    })
    .await?;
    Ok(Json(stats))
}
