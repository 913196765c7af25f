//! Who may post spans: the ingest routes refuse browser requests from other
//! sites and, when a token is configured, requests without it.
//!
//! A web page can make the browser POST to `http://127.0.0.1:9411` (a
//! `no-cors` request needs no preflight), so a developer's local collector
//! would take spans from any site they visit. Exporters send neither
//! `Origin` nor `Sec-Fetch-Site`; browsers send at least one of them on
//! every cross-origin POST. So a request is refused (403) when
//! `Sec-Fetch-Site` is anything but `same-origin` or `none` (`same-site`
//! too: another port on localhost is the same site), or when `Origin` is
//! present and is not `http://` + the request's `Host`. A browser request
//! must also name the collector by an IP address or `localhost` in `Host`,
//! which a DNS-rebinding page (whose `Host` is its own domain) cannot.
//!
//! With an ingest token set, every ingest request must also carry
//! `Authorization: Bearer <token>` (401 otherwise). The query API and the
//! viewer are not covered by the token: they only read.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::server::AppState;

/// Why an ingest request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A browser request from another site (or via a name that is not an
    /// IP address or localhost).
    #[error("cross-site write refused: {0}")]
    CrossSite(String),
    /// The ingest token is missing or wrong.
    #[error("ingest requires Authorization: Bearer <token>")]
    Unauthorized,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let text = format!("{self}\n");
        let plain = (header::CONTENT_TYPE, "text/plain; charset=utf-8");
        match self {
            Refusal::CrossSite(_) => (StatusCode::FORBIDDEN, [plain], text).into_response(),
            Refusal::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                [plain, (header::WWW_AUTHENTICATE, "Bearer")],
                text,
            )
                .into_response(),
        }
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// Whether `host` (a `Host` header value) names the machine by IP address
/// or `localhost`, names that DNS rebinding cannot take over.
fn is_literal_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    let name = name.to_ascii_lowercase();
    name.parse::<IpAddr>().is_ok() || name == "localhost" || name.ends_with(".localhost")
}

/// Refuses cross-site browser writes; see the module documentation.
pub fn check_origin(headers: &HeaderMap) -> Result<(), Refusal> {
    let fetch_site = header_text(headers, "sec-fetch-site");
    let origin = header_text(headers, "origin");
    if let Some(site) = fetch_site {
        if !matches!(site.to_ascii_lowercase().as_str(), "same-origin" | "none") {
            return Err(Refusal::CrossSite(format!("Sec-Fetch-Site is {site:?}")));
        }
    }
    if fetch_site.is_none() && origin.is_none() {
        return Ok(());
    }
    let host = header_text(headers, "host").unwrap_or("");
    if !is_literal_host(host) {
        return Err(Refusal::CrossSite(format!(
            "browser writes must address the collector by IP address or localhost, not Host {host:?}"
        )));
    }
    if let Some(origin) = origin {
        let own = format!("http://{host}");
        if !origin.eq_ignore_ascii_case(&own) {
            return Err(Refusal::CrossSite(format!(
                "Origin {origin:?} is not the collector's own ({own})"
            )));
        }
    }
    Ok(())
}

/// Requires `Authorization: Bearer <token>` when a token is set.
pub fn check_token(headers: &HeaderMap, token: Option<&str>) -> Result<(), Refusal> {
    let Some(token) = token else { return Ok(()) };
    let given = header_text(headers, "authorization")
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, value)| value.trim());
    match given {
        Some(given) if constant_time_eq(given.as_bytes(), token.as_bytes()) => Ok(()),
        _ => Err(Refusal::Unauthorized),
    }
}

/// Compares without an early exit, so timing does not reveal how much of a
/// guessed token was right (the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Middleware for the ingest routes: both checks, before the body is read.
pub async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let verdict =
        check_origin(headers).and_then(|()| check_token(headers, state.ingest_token.as_deref()));
    match verdict {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            tracing::debug!(%refusal, "refused ingest request");
            refusal.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn exporters_and_same_origin_pass() {
        assert_eq!(check_origin(&headers(&[("host", "evil.example")])), Ok(()));
        assert_eq!(check_origin(&headers(&[])), Ok(()));
        let same = headers(&[
            ("host", "127.0.0.1:9411"),
            ("origin", "http://127.0.0.1:9411"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(check_origin(&same), Ok(()));
        let typed = headers(&[("host", "localhost:9411"), ("sec-fetch-site", "none")]);
        assert_eq!(check_origin(&typed), Ok(()));
        let v6 = headers(&[("host", "[::1]:9411"), ("origin", "http://[::1]:9411")]);
        assert_eq!(check_origin(&v6), Ok(()));
    }

    #[test]
    fn other_sites_are_refused() {
        for h in [
            headers(&[("host", "127.0.0.1:9411"), ("sec-fetch-site", "cross-site")]),
            headers(&[("host", "127.0.0.1:9411"), ("sec-fetch-site", "same-site")]),
            headers(&[
                ("host", "127.0.0.1:9411"),
                ("origin", "http://evil.example"),
            ]),
            headers(&[("host", "127.0.0.1:9411"), ("origin", "null")]),
            headers(&[
                ("host", "127.0.0.1:9411"),
                ("origin", "http://127.0.0.1:8080"),
            ]),
            // DNS rebinding: same origin as far as the browser knows.
            headers(&[
                ("host", "rebind.example:9411"),
                ("origin", "http://rebind.example:9411"),
                ("sec-fetch-site", "same-origin"),
            ]),
        ] {
            assert!(
                matches!(check_origin(&h), Err(Refusal::CrossSite(_))),
                "{h:?}"
            );
        }
    }

    #[test]
    fn token_is_required_when_set() {
        assert_eq!(check_token(&headers(&[]), None), Ok(()));
        assert_eq!(
            check_token(&headers(&[]), Some("s3cret")),
            Err(Refusal::Unauthorized)
        );
        let wrong = headers(&[("authorization", "Bearer s3creT")]);
        assert_eq!(
            check_token(&wrong, Some("s3cret")),
            Err(Refusal::Unauthorized)
        );
        let basic = headers(&[("authorization", "Basic s3cret")]);
        assert_eq!(
            check_token(&basic, Some("s3cret")),
            Err(Refusal::Unauthorized)
        );
        let right = headers(&[("authorization", "bearer s3cret")]);
        assert_eq!(check_token(&right, Some("s3cret")), Ok(()));
    }
}
