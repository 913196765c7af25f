//! The web viewer: one static page, its script modules and stylesheet,
//! compiled into the binary so the collector needs no asset directory, build
//! step or network (no CDN). The page reads everything through the HTTP API.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::server::AppState;

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every asset: URL path, content type, body.
const ASSETS: &[(&str, &str, &str)] = &[
    ("/", HTML, include_str!("web/index.html")),
    ("/app.css", CSS, include_str!("web/app.css")),
    ("/app.js", JS, include_str!("web/app.js")),
    ("/util.js", JS, include_str!("web/util.js")),
    ("/model.js", JS, include_str!("web/model.js")),
    ("/list.js", JS, include_str!("web/list.js")),
    ("/scatter.js", JS, include_str!("web/scatter.js")),
    ("/autocomplete.js", JS, include_str!("web/autocomplete.js")),
    ("/trace.js", JS, include_str!("web/trace.js")),
    ("/deps.js", JS, include_str!("web/deps.js")),
    ("/ops.js", JS, include_str!("web/ops.js")),
    ("/metrics.js", JS, include_str!("web/metrics.js")),
    ("/upload.js", JS, include_str!("web/upload.js")),
];

/// Routes for `/` and its assets.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new().route(
        "/favicon.ico",
        get(|| async { axum::http::StatusCode::NO_CONTENT }),
    );
    for &(path, content_type, body) in ASSETS {
        router = router.route(
            path,
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, content_type),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    body,
                )
                    .into_response()
            }),
        );
    }
    router
}
