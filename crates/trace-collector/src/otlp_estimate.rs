//! How much memory an OTLP protobuf trace request will take once decoded,
//! read off the wire format before decoding it.
//!
//! `prost` decodes a whole request at once, and a request packed with tiny
//! spans or attributes decodes to ten or more times its size (every span and
//! attribute is a struct of a few hundred bytes, every id and string its own
//! allocation). Walking the encoded bytes and counting the messages that
//! become spans, events, links and attributes lets the collector refuse such
//! a request against the batch budget before allocating any of it.

use std::mem::size_of;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan};

use crate::model::Span;

/// Per-allocation cost assumed for each length-delimited field (an id, a
/// string, a nested message's vector slot).
const ALLOCATION_OVERHEAD: usize = 16;
/// What one attribute costs once it is also a Zipkin tag: the map entry,
/// two strings' headers and allocations.
const TAG_COST: usize = 2 * size_of::<String>() + 2 * ALLOCATION_OVERHEAD + 16;

/// Which message a byte range holds, for the fields that matter (anything
/// else is counted by its size only).
#[derive(Clone, Copy)]
enum Message {
    Request,
    ResourceSpans,
    Resource,
    ScopeSpans,
    Span,
    Event,
    Link,
}

/// What decoding the message costs beyond its encoded bytes.
fn message_cost(message: Message) -> usize {
    match message {
        Message::Request => 0,
        Message::ResourceSpans => size_of::<ResourceSpans>(),
        Message::Resource => 64,
        Message::ScopeSpans => size_of::<ScopeSpans>(),
        // The OTLP span, the Zipkin span made from it, vector slack for both.
        Message::Span => 2 * (size_of::<OtlpSpan>() + size_of::<Span>()),
        Message::Event => size_of::<Event>() + 2 * size_of::<crate::model::Annotation>(),
        Message::Link => size_of::<Link>() + 4 * TAG_COST,
    }
}

/// The nested message a field of `parent` holds, if it is one of those
/// counted (field numbers from opentelemetry-proto's trace and common protos).
fn child(parent: Message, field: u64) -> Option<Message> {
    use Message::*;
    match (parent, field) {
        (Request, 1) => Some(ResourceSpans),
        (ResourceSpans, 1) => Some(Resource),
        (ResourceSpans, 2) => Some(ScopeSpans),
        (ScopeSpans, 2) => Some(Span),
        (Span, 11) => Some(Event),
        (Span, 13) => Some(Link),
        _ => None,
    }
}

/// Whether a field of `parent` is a repeated `KeyValue` attribute.
fn is_attribute(parent: Message, field: u64) -> bool {
    use Message::*;
    matches!(
        (parent, field),
        (Resource, 1) | (Span, 9) | (Event, 3) | (Link, 5)
    )
}

fn varint(buf: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Estimated bytes the request in `body` decodes to (OTLP structures plus
/// the Zipkin spans made from them), or `None` if it is not well-formed
/// protobuf (decoding will then report the error).
pub fn decoded_bytes(body: &[u8]) -> Option<usize> {
    let mut total = body.len() * 2;
    // Explicit stack: (message kind, bytes of it).
    let mut stack: Vec<(Message, &[u8])> = vec![(Message::Request, body)];
    while let Some((message, buf)) = stack.pop() {
        total = total.saturating_add(message_cost(message));
        let mut at = 0;
        while at < buf.len() {
            let key = varint(buf, &mut at)?;
            let (field, wire_type) = (key >> 3, key & 7);
            match wire_type {
                0 => {
                    varint(buf, &mut at)?;
                }
                1 => at = at.checked_add(8)?,
                5 => at = at.checked_add(4)?,
                2 => {
                    let len = usize::try_from(varint(buf, &mut at)?).ok()?;
                    let end = at.checked_add(len).filter(|&e| e <= buf.len())?;
                    let inner = &buf[at..end];
                    total = total.saturating_add(ALLOCATION_OVERHEAD);
                    if is_attribute(message, field) {
                        total = total.saturating_add(
                            size_of::<KeyValue>() + size_of::<AnyValue>() + TAG_COST,
                        );
                    } else if let Some(kind) = child(message, field) {
                        stack.push((kind, inner));
                    }
                    at = end;
                }
                _ => return None,
            }
            if at > buf.len() {
                return None;
            }
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value;
    use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
    use prost::Message as _;

    fn request(spans: usize, attributes: usize) -> Vec<u8> {
        let span = OtlpSpan {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "op".into(),
            attributes: (0..attributes)
                .map(|i| KeyValue {
                    key: format!("k{i}"),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::IntValue(1)),
                    }),
                    ..KeyValue::default()
                })
                .collect(),
            ..OtlpSpan::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![span; spans],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
        .encode_to_vec()
    }

    #[test]
    fn estimates_grow_with_spans_and_attributes_not_just_bytes() {
        let few = decoded_bytes(&request(10, 0)).unwrap();
        let many = decoded_bytes(&request(1_000, 0)).unwrap();
        assert!(many > 90 * few, "{few} {many}");
        let body = request(1_000, 0);
        // Tiny spans: the estimate is many times the encoded size.
        assert!(decoded_bytes(&body).unwrap() > 20 * body.len());
        let tagged = decoded_bytes(&request(1_000, 10)).unwrap();
        assert!(tagged > many + 1_000 * 10 * TAG_COST);
    }

    #[test]
    fn malformed_bytes_give_none() {
        assert_eq!(decoded_bytes(b"\x0a\xff\xff"), None);
        assert_eq!(decoded_bytes(b"\x0f"), None);
        assert_eq!(decoded_bytes(b""), Some(0));
    }
}
