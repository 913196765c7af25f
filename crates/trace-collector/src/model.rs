//! The Zipkin v2 span model: what the collector stores, persists and serves.
//!
//! Field names and encodings follow Zipkin's v2 JSON (`zipkin2.Span`): ids are
//! lowercase hex, `timestamp` and `duration` are microseconds, `kind` is one of
//! `CLIENT`/`SERVER`/`PRODUCER`/`CONSUMER`. Deserialization is lenient where
//! real exporters differ (tag values that are numbers or booleans), and
//! [`Span::normalize`] checks the parts the store relies on.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// The role of a span in an RPC or messaging exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Kind {
    /// The calling side of an RPC.
    Client,
    /// The serving side of an RPC.
    Server,
    /// The sending side of a message.
    Producer,
    /// The receiving side of a message.
    Consumer,
}

/// A network endpoint (service) taking part in a span.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// The service's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// IPv4 address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<String>,
    /// IPv6 address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<String>,
    /// Port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// A timestamped event inside a span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// Microseconds since the Unix epoch.
    pub timestamp: u64,
    /// What happened.
    pub value: String,
}

/// One Zipkin v2 span. (`Default` is an empty, invalid span: a base for
/// struct-update syntax, for example in tests.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// 16 or 32 lowercase hex characters.
    pub trace_id: String,
    /// The parent span's id; `None` for a root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// 16 lowercase hex characters.
    pub id: String,
    /// The span's role in an RPC or messaging exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// The operation's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Start, microseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    /// Microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
    /// The service that recorded the span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_endpoint: Option<Endpoint>,
    /// The peer, for RPC and messaging spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_endpoint: Option<Endpoint>,
    /// Timestamped events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
    /// String attributes.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "lenient_tags"
    )]
    pub tags: BTreeMap<String, String>,
    /// Forced sampling.
    #[serde(default, skip_serializing_if = "is_false")]
    pub debug: bool,
    /// A server span sharing its id with the client span.
    #[serde(default, skip_serializing_if = "is_false")]
    pub shared: bool,
}

/// Why a received span cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    /// A trace id that is not 16 or 32 hex characters.
    #[error("span traceId {0:?} is not 16 or 32 hex characters")]
    BadTraceId(String),
    /// A span id that is not 16 hex characters.
    #[error("span id {0:?} is not 16 hex characters")]
    BadSpanId(String),
    /// A parent id that is not 16 hex characters.
    #[error("span parentId {0:?} is not 16 hex characters")]
    BadParentId(String),
}

impl Span {
    /// Lowercases ids (and left-pads short ones, as Zipkin does), drops an
    /// all-zero parent id, rejects ids that are not hex of the right size, and
    /// takes a missing service name from a `service.name` tag.
    pub fn normalize(mut self) -> Result<Span, SpanError> {
        self.trace_id = normalize_hex(&self.trace_id, &[16, 32])
            .ok_or_else(|| SpanError::BadTraceId(self.trace_id.clone()))?;
        self.id =
            normalize_hex(&self.id, &[16]).ok_or_else(|| SpanError::BadSpanId(self.id.clone()))?;
        self.parent_id = match self.parent_id.take() {
            None => None,
            Some(p) if p.is_empty() => None,
            Some(p) => {
                let hex = normalize_hex(&p, &[16]).ok_or(SpanError::BadParentId(p))?;
                (hex != "0000000000000000").then_some(hex)
            }
        };
        // opentelemetry-zipkin 0.33 sends no serviceName at all; a span that
        // carries `service.name` as a tag still lands under its service.
        if self.service_name().is_none() {
            if let Some(service) = self.tags.get("service.name").filter(|s| !s.is_empty()) {
                self.local_endpoint
                    .get_or_insert_with(Endpoint::default)
                    .service_name = Some(service.clone());
            }
        }
        Ok(self)
    }

    /// The local service name, if the span carries one.
    pub fn service_name(&self) -> Option<&str> {
        self.local_endpoint
            .as_ref()
            .and_then(|e| e.service_name.as_deref())
            .filter(|s| !s.is_empty())
    }

    /// Whether the local service is `name` (case-insensitive, as Zipkin matches).
    pub fn has_service(&self, name: &str) -> bool {
        self.service_name()
            .is_some_and(|s| s.eq_ignore_ascii_case(name))
    }

    /// The remote service name, if the span carries one.
    pub fn remote_service_name(&self) -> Option<&str> {
        self.remote_endpoint
            .as_ref()
            .and_then(|e| e.service_name.as_deref())
            .filter(|s| !s.is_empty())
    }

    /// Whether the span is marked as failed (Zipkin's `error` tag).
    pub fn is_error(&self) -> bool {
        self.tags.contains_key("error")
    }

    /// End time in microseconds, when both start and duration are known.
    pub fn end(&self) -> Option<u64> {
        Some(self.timestamp?.saturating_add(self.duration.unwrap_or(0)))
    }
}

/// Accepts hex of one of the allowed lengths (shorter is left-padded with
/// zeros up to the next allowed length) and returns it lowercased.
pub fn normalize_hex(id: &str, lengths: &[usize]) -> Option<String> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let target = lengths.iter().copied().find(|&n| id.len() <= n)?;
    let mut out = "0".repeat(target - id.len());
    out.push_str(&id.to_ascii_lowercase());
    Some(out)
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Zipkin tags are strings, but some exporters send numbers or booleans;
/// those are kept as their JSON text rather than rejecting the whole batch.
fn lenient_tags<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(deserializer)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, text)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_zipkin_json_and_serializes_back() {
        let json = r#"{"traceId":"4BF92F3577B34DA6A3CE929D0E0E4736","id":"00F067AA0BA902B7",
            "parentId":"1111111111111111","kind":"CLIENT","name":"get","timestamp":1700000000000000,
            "duration":1500,"localEndpoint":{"serviceName":"app","ipv4":"127.0.0.1"},
            "tags":{"db.system":"memcached","hit":true,"n":3},"shared":false}"#;
        let span: Span = serde_json::from_str(json).unwrap();
        let span = span.normalize().unwrap();
        assert_eq!(span.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(span.id, "00f067aa0ba902b7");
        assert_eq!(span.kind, Some(Kind::Client));
        assert_eq!(span.tags["hit"], "true");
        assert_eq!(span.tags["n"], "3");
        assert_eq!(span.service_name(), Some("app"));
        let back = serde_json::to_value(&span).unwrap();
        assert_eq!(back["localEndpoint"]["serviceName"], "app");
        assert!(back.get("debug").is_none());
    }

    #[test]
    fn short_ids_are_padded_and_zero_parent_dropped() {
        let span = Span {
            trace_id: "abc".into(),
            parent_id: Some("0".into()),
            id: "1".into(),
            ..test_span()
        }
        .normalize()
        .unwrap();
        assert_eq!(span.trace_id, "0000000000000abc");
        assert_eq!(span.id, "0000000000000001");
        assert_eq!(span.parent_id, None);
    }

    #[test]
    fn service_name_tag_fills_a_missing_endpoint() {
        let mut span = test_span();
        span.tags.insert("service.name".into(), "sqrt-app".into());
        assert_eq!(span.normalize().unwrap().service_name(), Some("sqrt-app"));
    }

    #[test]
    fn bad_ids_are_rejected() {
        let bad = Span {
            trace_id: "xyz".into(),
            ..test_span()
        };
        assert!(matches!(bad.normalize(), Err(SpanError::BadTraceId(_))));
        let long = Span {
            id: "1".repeat(17),
            ..test_span()
        };
        assert!(matches!(long.normalize(), Err(SpanError::BadSpanId(_))));
    }

    fn test_span() -> Span {
        Span {
            trace_id: "1".into(),
            id: "2".into(),
            ..Span::default()
        }
    }
}
