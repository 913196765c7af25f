//! OTLP/HTTP trace payloads (protobuf or JSON) converted to Zipkin spans,
//! keeping everything OTLP carries.
//!
//! The mapping follows OpenTelemetry's Zipkin exporter specification and,
//! where that leaves a choice, what the OpenTelemetry Python SDK's Zipkin
//! exporter sends for the same span, so a span looks the same here whichever
//! way it was exported:
//!
//! - ids become lowercase hex; span kind maps to Zipkin's kind (internal has
//!   none); times become microseconds, rounded to the nearest;
//! - span attributes become tags (arrays and maps as JSON), then resource
//!   attributes (`service.name` also becomes `localEndpoint.serviceName`),
//!   then the instrumentation scope as `otel.scope.name` /
//!   `otel.scope.version` (and the older `otel.library.name` /
//!   `otel.library.version`);
//! - status: `otel.status_code` (`OK`/`ERROR`), and for an error the `error`
//!   tag holding the description (empty if none);
//! - dropped counts as `otel.dropped_attributes_count`,
//!   `otel.dropped_events_count`, `otel.dropped_links_count`;
//! - each event becomes an annotation whose value is the JSON object
//!   `{"<name>": {<attributes>}}`, keys sorted, written as Python's
//!   `json.dumps` writes it (`", "` and `": "` separators, non-ASCII as
//!   `\uXXXX`);
//! - Zipkin has no links, so link `N` (from 0) becomes tags
//!   `otel.link.N.trace_id` and `otel.link.N.span_id`, plus
//!   `otel.link.N.trace_state` and `otel.link.N.attributes` (a JSON object)
//!   when present;
//! - `peer.service` becomes `remoteEndpoint.serviceName` (in `Span::normalize`,
//!   which fills the remote endpoint for Zipkin input too).

use std::collections::BTreeMap;
use std::mem::size_of;

use base64::Engine as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span as OtlpSpan};
use prost::Message as _;

use crate::batch::{BatchBudget, BatchTooLarge};
use crate::model::{link_tag, Annotation, Endpoint, Kind, Span};

/// Why an OTLP payload could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// Not a valid protobuf `ExportTraceServiceRequest`.
    #[error("invalid OTLP protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// Not a valid OTLP/JSON `ExportTraceServiceRequest`.
    #[error("invalid OTLP JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Valid, but the spans would take more memory than a batch may.
    #[error(transparent)]
    TooLarge(#[from] BatchTooLarge),
}

/// Decodes a protobuf `ExportTraceServiceRequest` into Zipkin spans.
/// A request whose estimated decoded size ([`crate::otlp_estimate`])
/// exceeds the budget is refused before it is decoded.
pub fn spans_from_protobuf(body: &[u8], budget: BatchBudget) -> Result<Vec<Span>, OtlpError> {
    if let Some(estimate) = crate::otlp_estimate::decoded_bytes(body) {
        budget.check(estimate)?;
    }
    Ok(to_zipkin(ExportTraceServiceRequest::decode(body)?, budget)?)
}

/// Decodes an OTLP/JSON `ExportTraceServiceRequest` into Zipkin spans.
pub fn spans_from_json(body: &[u8], budget: BatchBudget) -> Result<Vec<Span>, OtlpError> {
    Ok(to_zipkin(serde_json::from_slice(body)?, budget)?)
}

/// Converts every span of an export request, charging each converted span
/// (and the OTLP span it came from, still held) to `budget`.
pub fn to_zipkin(
    request: ExportTraceServiceRequest,
    mut budget: BatchBudget,
) -> Result<Vec<Span>, BatchTooLarge> {
    let mut out = Vec::new();
    for resource_spans in request.resource_spans {
        let resource_attrs = resource_spans
            .resource
            .map(|r| r.attributes)
            .unwrap_or_default();
        let service = string_attr(&resource_attrs, "service.name")
            .unwrap_or_else(|| "unknown_service".into());
        let resource_tags = tags_of(&resource_attrs);
        for scope_spans in resource_spans.scope_spans {
            let scope_tags = scope_tags(scope_spans.scope.as_ref());
            for span in scope_spans.spans {
                let mut zipkin = convert_span(span, &service, &resource_tags);
                zipkin.tags.extend(scope_tags.clone());
                let slot = if out.len() == out.capacity() {
                    out.capacity().max(4) * size_of::<Span>()
                } else {
                    0
                };
                budget.charge_span(&zipkin, size_of::<OtlpSpan>() + slot)?;
                out.push(zipkin);
            }
        }
    }
    Ok(out)
}

fn tags_of(attrs: &[KeyValue]) -> BTreeMap<String, String> {
    attrs
        .iter()
        .map(|kv| (kv.key.clone(), any_value_text(kv.value.as_ref())))
        .collect()
}

fn scope_tags(scope: Option<&InstrumentationScope>) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    if let Some(scope) = scope {
        // The `otel.library.*` names are the older ones; Zipkin exporters
        // still write both.
        for (key, value) in [
            ("otel.scope.name", &scope.name),
            ("otel.scope.version", &scope.version),
            ("otel.library.name", &scope.name),
            ("otel.library.version", &scope.version),
        ] {
            if !value.is_empty() {
                tags.insert(key.to_owned(), value.clone());
            }
        }
    }
    tags
}

/// Nanoseconds to microseconds, rounded to the nearest (as OpenTelemetry's
/// Zipkin exporters do).
fn micros(nanos: u64) -> u64 {
    nanos.saturating_add(500) / 1_000
}

fn convert_span(span: OtlpSpan, service: &str, resource_tags: &BTreeMap<String, String>) -> Span {
    let mut tags = tags_of(&span.attributes);
    tags.extend(resource_tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(status) = &span.status {
        if status.code == StatusCode::Error as i32 {
            tags.insert("otel.status_code".into(), "ERROR".into());
            tags.insert("error".into(), status.message.clone());
        } else if status.code == StatusCode::Ok as i32 {
            tags.insert("otel.status_code".into(), "OK".into());
        }
    }
    for (key, count) in [
        (
            "otel.dropped_attributes_count",
            span.dropped_attributes_count,
        ),
        ("otel.dropped_events_count", span.dropped_events_count),
        ("otel.dropped_links_count", span.dropped_links_count),
    ] {
        if count > 0 {
            tags.insert(key.into(), count.to_string());
        }
    }
    for (n, link) in span.links.iter().enumerate() {
        link_tags(&mut tags, n, link);
    }
    let start_us = micros(span.start_time_unix_nano);
    let duration_ns = span
        .end_time_unix_nano
        .saturating_sub(span.start_time_unix_nano);
    Span {
        trace_id: hex(&span.trace_id),
        parent_id: (!span.parent_span_id.is_empty()).then(|| hex(&span.parent_span_id)),
        id: hex(&span.span_id),
        kind: zipkin_kind(span.kind),
        name: Some(span.name),
        timestamp: (start_us > 0).then_some(start_us),
        // Zipkin wants a positive duration; sub-microsecond spans round up.
        duration: (start_us > 0).then(|| micros(duration_ns).max(1)),
        local_endpoint: Some(Endpoint {
            service_name: Some(service.to_owned()),
            ..Endpoint::default()
        }),
        // Filled from `peer.service` and `network.peer.*` by `Span::normalize`.
        remote_endpoint: None,
        annotations: span.events.iter().map(annotation).collect(),
        tags,
        debug: false,
        shared: false,
    }
}

/// An event as the annotation Zipkin exporters write:
/// `{"<name>": {<attributes>}}`.
fn annotation(event: &Event) -> Annotation {
    let attributes = attributes_json(&event.attributes);
    let value = python_json(&serde_json::json!({ event.name.clone(): attributes }));
    Annotation {
        timestamp: micros(event.time_unix_nano),
        value,
    }
}

fn link_tags(tags: &mut BTreeMap<String, String>, n: usize, link: &Link) {
    let key = |field: &str| link_tag(n, field);
    tags.insert(key("trace_id"), hex(&link.trace_id));
    tags.insert(key("span_id"), hex(&link.span_id));
    if !link.trace_state.is_empty() {
        tags.insert(key("trace_state"), link.trace_state.clone());
    }
    if !link.attributes.is_empty() {
        tags.insert(
            key("attributes"),
            attributes_json(&link.attributes).to_string(),
        );
    }
}

/// Attributes as one JSON object, values keeping their JSON types.
pub(crate) fn attributes_json(attrs: &[KeyValue]) -> serde_json::Value {
    serde_json::Value::Object(
        attrs
            .iter()
            .map(|kv| {
                let value = kv.value.as_ref().and_then(|v| v.value.as_ref());
                (
                    kv.key.clone(),
                    value.map_or(serde_json::Value::Null, any_value_json),
                )
            })
            .collect(),
    )
}

/// JSON text as Python's `json.dumps` writes it by default: `", "` between
/// items, `": "` after keys, every non-ASCII character as `\uXXXX`.
/// (Object keys come out sorted: `serde_json::Map` is ordered.)
fn python_json(value: &serde_json::Value) -> String {
    use serde::Serialize as _;
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    // Writing a `Value` into a Vec cannot fail.
    let _ = value.serialize(&mut serializer);
    String::from_utf8_lossy(&out).into_owned()
}

struct PythonFormatter;

/// `", "` before every item but the first.
fn python_separator<W: ?Sized + std::io::Write>(
    writer: &mut W,
    first: bool,
) -> std::io::Result<()> {
    if first {
        Ok(())
    } else {
        writer.write_all(b", ")
    }
}

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        python_separator(writer, first)
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        python_separator(writer, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        for c in fragment.chars() {
            if c.is_ascii() {
                writer.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
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

    fn budget() -> BatchBudget {
        BatchBudget::new(1 << 20)
    }

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
        let spans = spans_from_json(JSON.as_bytes(), budget()).unwrap();
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
        assert_eq!(s.annotations[0].value, r#"{"cache miss": {}}"#);
        assert_eq!(s.annotations[0].timestamp, 1_544_712_660_500_000);
    }

    #[test]
    fn protobuf_round_trip_matches_json() {
        let request: ExportTraceServiceRequest = serde_json::from_str(JSON).unwrap();
        let bytes = request.encode_to_vec();
        assert_eq!(
            spans_from_protobuf(&bytes, budget()).unwrap(),
            spans_from_json(JSON.as_bytes(), budget()).unwrap()
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(spans_from_protobuf(b"\xff\xff\xff\xff", budget()).is_err());
        assert!(spans_from_json(b"{\"resourceSpans\": 3}", budget()).is_err());
    }
}
