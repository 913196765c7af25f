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
    timeout: Duration,
) -> Result<reqwest::blocking::Client, TelemetryError> {
    let failed = |reason: String| TelemetryError::Exporter { exporter, reason };
    std::thread::Builder::new()
        .name("telemetry-http-client-init".to_owned())
        .spawn(move || {
            reqwest::blocking::Client::builder()
                .timeout(timeout)
                .build()
        })
        .map_err(|e| failed(format!("cannot spawn the HTTP client thread: {e}")))?
        .join()
        .map_err(|_| failed("building the HTTP client panicked".to_owned()))?
        .map_err(|e| failed(format!("cannot build the HTTP client: {e}")))
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
