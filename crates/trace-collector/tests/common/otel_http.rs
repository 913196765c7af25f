//! An OpenTelemetry exporter transport built on ureq, so the exporter tests
//! need no reqwest stack.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};

/// Sends each export request with a blocking ureq call.
#[derive(Debug)]
pub struct UreqClient(ureq::Agent);

impl UreqClient {
    pub fn new() -> UreqClient {
        UreqClient(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(10)))
                .build()
                .into(),
        )
    }
}

#[async_trait]
impl HttpClient for UreqClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let mut builder = self.0.post(parts.uri.to_string());
        for (name, value) in &parts.headers {
            builder = builder.header(name.as_str(), value.to_str()?);
        }
        let mut reply = builder.send(&body[..])?;
        let status = reply.status();
        let bytes = reply.body_mut().read_to_vec()?;
        Ok(Response::builder()
            .status(status.as_u16())
            .body(Bytes::from(bytes))?)
    }
}
