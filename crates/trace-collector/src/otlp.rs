//! OTLP/HTTP trace payloads (protobuf or JSON) converted to Zipkin spans.
//!
//! The mapping follows the OpenTelemetry Zipkin exporter specification: ids
//! become lowercase hex, span kind maps to Zipkin's kind (internal has none),
//! attributes become tags, an error status adds the `error` tag, and the
//! resource's `service.name` becomes `localEndpoint.serviceName`.

use std::collections::BTreeMap;

use base64::Engine as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span as OtlpSpan};
use prost::Message as _;

use crate::model::{Annotation, Endpoint, Kind, Span};

/// Why an OTLP payload could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// Not a valid OTLP protobuf message.
    #[error("invalid OTLP protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// Not valid OTLP JSON.
    #[error("invalid OTLP JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Decodes a protobuf `ExportTraceServiceRequest` into Zipkin spans.
pub fn spans_from_protobuf(body: &[u8]) -> Result<Vec<Span>, OtlpError> {
    Ok(to_zipkin(ExportTraceServiceRequest::decode(body)?))
}

/// Decodes an OTLP/JSON `ExportTraceServiceRequest` into Zipkin spans.
pub fn spans_from_json(body: &[u8]) -> Result<Vec<Span>, OtlpError> {
    Ok(to_zipkin(serde_json::from_slice(body)?))
}

/// Converts every span of an export request.
pub fn to_zipkin(request: ExportTraceServiceRequest) -> Vec<Span> {
    let mut out = Vec::new();
    for resource_spans in request.resource_spans {
        let resource_attrs = resource_spans
            .resource
            .map(|r| r.attributes)
            .unwrap_or_default();
        let service = string_attr(&resource_attrs, "service.name")
            .unwrap_or_else(|| "unknown_service".into());
        for scope_spans in resource_spans.scope_spans {
            let scope = scope_spans.scope.unwrap_or_default();
            for span in scope_spans.spans {
                let mut zipkin = convert_span(span, &service);
                if !scope.name.is_empty() {
                    zipkin
                        .tags
                        .insert("otel.scope.name".into(), scope.name.clone());
                }
                if !scope.version.is_empty() {
                    zipkin
                        .tags
                        .insert("otel.scope.version".into(), scope.version.clone());
                }
                out.push(zipkin);
            }
        }
    }
    out
}

fn convert_span(span: OtlpSpan, service: &str) -> Span {
    let mut tags: BTreeMap<String, String> = span
        .attributes
        .iter()
        .map(|kv| (kv.key.clone(), any_value_text(kv.value.as_ref())))
        .collect();
    if let Some(status) = &span.status {
        if status.code == StatusCode::Error as i32 {
            tags.insert("otel.status_code".into(), "ERROR".into());
            let message = if status.message.is_empty() {
                "ERROR"
            } else {
                &status.message
            };
            tags.insert("error".into(), message.to_owned());
        } else if status.code == StatusCode::Ok as i32 {
            tags.insert("otel.status_code".into(), "OK".into());
        }
    }
    let remote_service = string_attr(&span.attributes, "peer.service");
    let start_us = span.start_time_unix_nano / 1_000;
    let end_us = span.end_time_unix_nano / 1_000;
    Span {
        trace_id: hex(&span.trace_id),
        parent_id: (!span.parent_span_id.is_empty()).then(|| hex(&span.parent_span_id)),
        id: hex(&span.span_id),
        kind: zipkin_kind(span.kind),
        name: Some(span.name),
        timestamp: (start_us > 0).then_some(start_us),
        // Zipkin wants a positive duration; sub-microsecond spans round up.
        duration: (start_us > 0).then(|| end_us.saturating_sub(start_us).max(1)),
        local_endpoint: Some(Endpoint {
            service_name: Some(service.to_owned()),
            ..Endpoint::default()
        }),
        remote_endpoint: remote_service.map(|name| Endpoint {
            service_name: Some(name),
            ..Endpoint::default()
        }),
        annotations: span
            .events
            .into_iter()
            .map(|e| Annotation {
                timestamp: e.time_unix_nano / 1_000,
                value: e.name,
            })
            .collect(),
        tags,
        debug: false,
        shared: false,
    }
}

fn zipkin_kind(kind: i32) -> Option<Kind> {
    match SpanKind::try_from(kind).ok()? {
        SpanKind::Client => Some(Kind::Client),
        SpanKind::Server => Some(Kind::Server),
        SpanKind::Producer => Some(Kind::Producer),
        SpanKind::Consumer => Some(Kind::Consumer),
        SpanKind::Internal | SpanKind::Unspecified => None,
    }
}

fn string_attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    let kv = attrs.iter().find(|kv| kv.key == key)?;
    match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Renders an attribute value as a Zipkin tag string: scalars as text,
/// arrays and maps as JSON.
fn any_value_text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(other) => match any_value_json(other) {
            serde_json::Value::String(s) => s,
            json => json.to_string(),
        },
    }
}

fn any_value_json(value: &any_value::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        any_value::Value::StringValue(s) => J::String(s.clone()),
        any_value::Value::BoolValue(b) => J::Bool(*b),
        any_value::Value::IntValue(i) => J::from(*i),
        any_value::Value::DoubleValue(d) => J::from(*d),
        // An index into a profile's string table; without the table only the index is known.
        any_value::Value::StringValueStrindex(i) => J::from(*i),
        any_value::Value::BytesValue(b) => {
            J::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        any_value::Value::ArrayValue(a) => J::Array(
            a.values
                .iter()
                .map(|v| v.value.as_ref().map_or(J::Null, any_value_json))
                .collect(),
        ),
        any_value::Value::KvlistValue(kvs) => J::Object(
            kvs.values
                .iter()
                .map(|kv| {
                    let v = kv.value.as_ref().and_then(|v| v.value.as_ref());
                    (kv.key.clone(), v.map_or(J::Null, any_value_json))
                })
                .collect(),
        ),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"resourceSpans":[{"resource":{"attributes":[
        {"key":"service.name","value":{"stringValue":"sqrt-app"}}]},
      "scopeSpans":[{"scope":{"name":"memcache-client","version":"0.1.0"},"spans":[
        {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
         "parentSpanId":"eee19b7ec3c1b173","name":"memcache.get","kind":3,
         "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661500000000",
         "attributes":[{"key":"db.system","value":{"stringValue":"memcached"}},
                       {"key":"hits","value":{"intValue":"2"}},
                       {"key":"ratio","value":{"doubleValue":0.5}},
                       {"key":"keys","value":{"arrayValue":{"values":[{"stringValue":"a"},{"stringValue":"b"}]}}}],
         "events":[{"timeUnixNano":"1544712660500000000","name":"cache miss"}],
         "status":{"code":2,"message":"connection reset"}}]}]}]}"#;

    #[test]
    fn json_request_maps_to_zipkin() {
        let spans = spans_from_json(JSON.as_bytes()).unwrap();
        assert_eq!(spans.len(), 1);
        let s = &spans[0];
        assert_eq!(s.trace_id, "5b8efff798038103d269b633813fc60c");
        assert_eq!(s.id, "eee19b7ec3c1b174");
        assert_eq!(s.parent_id.as_deref(), Some("eee19b7ec3c1b173"));
        assert_eq!(s.kind, Some(Kind::Client));
        assert_eq!(s.timestamp, Some(1_544_712_660_000_000));
        assert_eq!(s.duration, Some(1_500_000));
        assert_eq!(s.service_name(), Some("sqrt-app"));
        assert_eq!(s.tags["db.system"], "memcached");
        assert_eq!(s.tags["hits"], "2");
        assert_eq!(s.tags["ratio"], "0.5");
        assert_eq!(s.tags["keys"], r#"["a","b"]"#);
        assert_eq!(s.tags["error"], "connection reset");
        assert_eq!(s.tags["otel.scope.name"], "memcache-client");
        assert_eq!(s.annotations[0].value, "cache miss");
        assert_eq!(s.annotations[0].timestamp, 1_544_712_660_500_000);
    }

    #[test]
    fn protobuf_round_trip_matches_json() {
        let request: ExportTraceServiceRequest = serde_json::from_str(JSON).unwrap();
        let bytes = request.encode_to_vec();
        assert_eq!(
            spans_from_protobuf(&bytes).unwrap(),
            spans_from_json(JSON.as_bytes()).unwrap()
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(spans_from_protobuf(b"\xff\xff\xff\xff").is_err());
        assert!(spans_from_json(b"{\"resourceSpans\": 3}").is_err());
    }
}
