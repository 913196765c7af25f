//! The HTTP client the exporters use: reqwest's blocking client, which runs its
//! own small I/O thread. It pairs with the SDK's thread-based batch processor
//! (exports happen on that processor's thread, never on a tokio worker), so a
//! flush from inside a tokio runtime cannot deadlock on the runtime it blocks.

use crate::TelemetryError;
use async_trait::async_trait;
use bytes::Bytes;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use std::time::Duration;

/// Builds the blocking client on a fresh thread: reqwest refuses to build (or
/// block) one on a thread that is inside an async runtime, which callers may be.
pub fn blocking_client(
    exporter: &'static str,
    endpoint: &str,
    timeout: Duration,
) -> Result<reqwest::blocking::Client, TelemetryError> {
    let failed = |reason: String| TelemetryError::Exporter { exporter, reason };
    // A proxy from HTTP_PROXY & co. cannot reach this host's loopback collector.
    let bypass_proxy = is_loopback(endpoint);
    std::thread::Builder::new()
        .name("telemetry-http-client-init".to_owned())
        .spawn(move || {
            let builder = reqwest::blocking::Client::builder().timeout(timeout);
            let builder = if bypass_proxy {
                builder.no_proxy()
            } else {
                builder
            };
            builder.build()
        })
        .map_err(|e| failed(format!("cannot spawn the HTTP client thread: {e}")))?
        .join()
        .map_err(|_| failed("building the HTTP client panicked".to_owned()))?
        .map_err(|e| failed(format!("cannot build the HTTP client: {e}")))
}

/// Whether `endpoint` names this machine's loopback interface.
pub fn is_loopback(endpoint: &str) -> bool {
    let Ok(uri) = endpoint.parse::<http::Uri>() else {
        return false;
    };
    match uri.host() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// Wraps the Zipkin exporter's client to fill in `localEndpoint.serviceName`,
/// which opentelemetry-zipkin 0.33 leaves out (Zipkin UIs then say "unknown").
#[derive(Debug)]
pub struct ZipkinServiceNameClient<C> {
    inner: C,
    service_name: String,
}

impl<C> ZipkinServiceNameClient<C> {
    /// Sends through `inner`, naming every span's local endpoint `service_name`.
    pub fn new(inner: C, service_name: String) -> Self {
        Self {
            inner,
            service_name,
        }
    }

    /// The body with the service name set on spans that lack one; a body that is
    /// not a Zipkin span list is passed on untouched.
    fn with_service_name(&self, body: &Bytes) -> Option<Bytes> {
        let mut spans: Vec<serde_json::Value> = serde_json::from_slice(body).ok()?;
        for span in &mut spans {
            let endpoint = span
                .as_object_mut()?
                .entry("localEndpoint")
                .or_insert_with(|| serde_json::Value::Object(Default::default()))
                .as_object_mut()?;
            endpoint
                .entry("serviceName")
                .or_insert_with(|| self.service_name.clone().into());
        }
        serde_json::to_vec(&spans).ok().map(Bytes::from)
    }
}

#[async_trait]
impl<C: HttpClient> HttpClient for ZipkinServiceNameClient<C> {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (mut parts, body) = request.into_parts();
        let body = match self.with_service_name(&body) {
            Some(rewritten) => {
                // The body length changed; let the client compute it afresh.
                parts.headers.remove(http::header::CONTENT_LENGTH);
                rewritten
            }
            None => body,
        };
        self.inner
            .send_bytes(Request::from_parts(parts, body))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_endpoints_are_recognised() {
        assert!(is_loopback("http://localhost:9411/api/v2/spans"));
        assert!(is_loopback("http://127.0.0.1:4318/v1/traces"));
        assert!(is_loopback("http://[::1]:4318/v1/traces"));
        assert!(!is_loopback("http://collector:9411/api/v2/spans"));
        assert!(!is_loopback("http://10.0.0.1:9411/"));
        assert!(!is_loopback("not a url"));
    }

    #[test]
    fn service_name_is_filled_in_without_overwriting() {
        let client = ZipkinServiceNameClient::new((), "sqrt-demo".to_owned());
        let body = Bytes::from_static(
            br#"[{"name":"a","localEndpoint":{}},{"name":"b"},{"name":"c","localEndpoint":{"serviceName":"kept"}}]"#,
        );
        let rewritten = client.with_service_name(&body).expect("zipkin span list");
        let spans: Vec<serde_json::Value> = serde_json::from_slice(&rewritten).expect("json");
        assert_eq!(spans[0]["localEndpoint"]["serviceName"], "sqrt-demo");
        assert_eq!(spans[1]["localEndpoint"]["serviceName"], "sqrt-demo");
        assert_eq!(spans[2]["localEndpoint"]["serviceName"], "kept");
    }

    #[test]
    fn non_zipkin_bodies_are_left_alone() {
        let client = ZipkinServiceNameClient::new((), "svc".to_owned());
        assert!(client
            .with_service_name(&Bytes::from_static(b"\x00\x01"))
            .is_none());
        assert!(client
            .with_service_name(&Bytes::from_static(b"[1,2]"))
            .is_none());
    }
}
