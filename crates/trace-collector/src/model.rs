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
    /// The caller's side of an RPC.
    Client,
    /// The callee's side of an RPC.
    Server,
    /// Sends a message.
    Producer,
    /// Receives a message.
    Consumer,
}

/// A network endpoint (service) taking part in a span.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// The service's name, such as `sqrt-demo` or `memcached`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// IPv4 address, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<String>,
    /// IPv6 address, as text.
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
    /// The parent span's id; none for a root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// 16 lowercase hex characters.
    pub id: String,
    /// RPC or messaging role; none for a local span.
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
    /// The other side of an RPC or messaging span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_endpoint: Option<Endpoint>,
    /// Timestamped events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
    /// Key-value context (`error` marks a failed span).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "lenient_tags"
    )]
    pub tags: BTreeMap<String, String>,
    /// Recorded regardless of sampling.
    #[serde(default, skip_serializing_if = "is_false")]
    pub debug: bool,
    /// The server half of an RPC whose client half has the same id.
    #[serde(default, skip_serializing_if = "is_false")]
    pub shared: bool,
}

/// Why a received span cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    /// The trace id is not hex of the right length.
    #[error("span traceId {0:?} is not 16 or 32 hex characters")]
    BadTraceId(String),
    /// The span id is not hex of the right length.
    #[error("span id {0:?} is not 16 hex characters")]
    BadSpanId(String),
    /// The parent id is not hex of the right length.
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
        self.fill_remote_endpoint();
        Ok(self)
    }

    /// Fills what the remote endpoint lacks from the OpenTelemetry attributes
    /// the OTel-to-Zipkin mapping reads (`peer.service`; the peer's address
    /// and port from `network.peer.*`, else the older `net.peer.*`), so a
    /// client span names the service it called whichever way it arrived:
    /// OTLP, or opentelemetry-zipkin 0.33, which writes the attributes as
    /// tags but never a remote endpoint.
    fn fill_remote_endpoint(&mut self) {
        let tag = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| self.tags.get(*k).filter(|v| !v.is_empty()).cloned())
        };
        let service = tag(&["peer.service"]);
        let address = tag(&["network.peer.address", "net.peer.ip", "net.sock.peer.addr"])
            .and_then(|a| a.parse::<std::net::IpAddr>().ok());
        let port = tag(&["network.peer.port", "net.peer.port", "net.sock.peer.port"])
            .and_then(|p| p.parse::<u16>().ok());
        if service.is_none() && address.is_none() && port.is_none() {
            return;
        }
        let remote = self.remote_endpoint.get_or_insert_with(Endpoint::default);
        if remote.service_name.as_deref().is_none_or(str::is_empty) {
            remote.service_name = service;
        }
        if remote.ipv4.is_none() && remote.ipv6.is_none() {
            match address {
                Some(std::net::IpAddr::V4(v4)) => remote.ipv4 = Some(v4.to_string()),
                Some(std::net::IpAddr::V6(v6)) => remote.ipv6 = Some(v6.to_string()),
                None => {}
            }
        }
        if remote.port.is_none() {
            remote.port = port;
        }
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

/// What a heap allocation costs beyond its payload (allocator header and
/// rounding), as assumed by [`Span::approx_bytes`].
const ALLOCATION_OVERHEAD: usize = 16;
/// What one entry of a `BTreeMap<String, String>` costs beyond its two
/// strings' bytes: the two `String` headers plus a share of the node.
const TAG_ENTRY_OVERHEAD: usize = 2 * std::mem::size_of::<String>() + 2 * ALLOCATION_OVERHEAD + 16;

fn string_bytes(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        s.len() + ALLOCATION_OVERHEAD
    }
}

fn endpoint_bytes(e: &Option<Endpoint>) -> usize {
    e.as_ref().map_or(0, |e| {
        [&e.service_name, &e.ipv4, &e.ipv6]
            .into_iter()
            .flatten()
            .map(|s| string_bytes(s))
            .sum()
    })
}

/// The marker that ends a value cut by [`Span::cap_values`]; the number is
/// how many bytes the value had before it was cut.
pub fn truncation_marker(original_len: usize) -> String {
    format!("…[truncated, {original_len} bytes]")
}

/// Cuts `value` to at most `max` bytes (on a character boundary) and
/// appends [`truncation_marker`]; returns whether it cut.
fn cap_value(value: &mut String, max: usize) -> bool {
    if value.len() <= max {
        return false;
    }
    let original = value.len();
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value.truncate(end);
    value.push_str(&truncation_marker(original));
    value.shrink_to_fit();
    true
}

impl Span {
    /// Cuts every tag key and value, annotation value, endpoint string and
    /// the span name to at most `max` bytes, each followed by [`truncation_marker`] when cut. Returns
    /// how many values were cut.
    pub fn cap_values(&mut self, max: usize) -> usize {
        let mut cut = 0;
        for value in self.tags.values_mut() {
            cut += usize::from(cap_value(value, max));
        }
        for annotation in &mut self.annotations {
            cut += usize::from(cap_value(&mut annotation.value, max));
        }
        let endpoint_strings = [&mut self.local_endpoint, &mut self.remote_endpoint]
            .into_iter()
            .flatten()
            .flat_map(|e| [&mut e.service_name, &mut e.ipv4, &mut e.ipv6]);
        for text in endpoint_strings.chain([&mut self.name]).flatten() {
            cut += usize::from(cap_value(text, max));
        }
        if self.tags.keys().any(|k| k.len() > max) {
            let tags = std::mem::take(&mut self.tags);
            self.tags = tags
                .into_iter()
                .map(|(mut k, v)| {
                    cut += usize::from(cap_value(&mut k, max));
                    (k, v)
                })
                .collect();
        }
        cut
    }

    /// An estimate, on the high side, of the memory this span occupies:
    /// the struct itself plus every heap allocation it owns, each counted
    /// with an allocator overhead of 16 bytes. The store's byte budget is kept in
    /// these units.
    pub fn approx_bytes(&self) -> usize {
        let strings = string_bytes(&self.trace_id)
            + string_bytes(&self.id)
            + self.parent_id.as_deref().map_or(0, string_bytes)
            + self.name.as_deref().map_or(0, string_bytes);
        let endpoints =
            endpoint_bytes(&self.local_endpoint) + endpoint_bytes(&self.remote_endpoint);
        let annotations = self
            .annotations
            .iter()
            .map(|a| std::mem::size_of::<Annotation>() + string_bytes(&a.value))
            .sum::<usize>()
            + if self.annotations.is_empty() {
                0
            } else {
                ALLOCATION_OVERHEAD
            };
        let tags: usize = self
            .tags
            .iter()
            .map(|(k, v)| TAG_ENTRY_OVERHEAD + k.len() + v.len())
            .sum();
        std::mem::size_of::<Span>() + strings + endpoints + annotations + tags
    }
}

/// A link from one span to another (an OTLP span link; Zipkin has none, so
/// it travels as the tags named by [`link_tag`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanLink {
    /// The linked span's trace id.
    pub trace_id: String,
    /// The linked span's id.
    pub span_id: String,
}

/// The tag key holding `field` (`trace_id`, `span_id`, `trace_state` or
/// `attributes`) of a span's link number `n` (from 0): `otel.link.N.FIELD`.
pub fn link_tag(n: usize, field: &str) -> String {
    format!("otel.link.{n}.{field}")
}

impl Span {
    /// The span's links, in order, read from its [`link_tag`] tags.
    pub fn links(&self) -> Vec<SpanLink> {
        (0..)
            .map_while(|n| {
                Some(SpanLink {
                    trace_id: self.tags.get(&link_tag(n, "trace_id"))?.clone(),
                    span_id: self.tags.get(&link_tag(n, "span_id"))?.clone(),
                })
            })
            .collect()
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
    fn remote_endpoint_comes_from_peer_attributes_without_overriding() {
        let json = r#"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","id":"00f067aa0ba902b7",
            "kind":"CLIENT","name":"get","tags":{"peer.service":"memcached",
            "network.peer.address":"::1","network.peer.port":"11211"}}"#;
        let span: Span = serde_json::from_str(json).unwrap();
        let remote = span.normalize().unwrap().remote_endpoint.unwrap();
        assert_eq!(remote.service_name.as_deref(), Some("memcached"));
        assert_eq!(remote.ipv6.as_deref(), Some("::1"));
        assert_eq!(remote.ipv4, None);
        assert_eq!(remote.port, Some(11211));

        // What the span says itself wins; a bad address or port is ignored.
        let json = r#"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","id":"00f067aa0ba902b7",
            "remoteEndpoint":{"serviceName":"cache-a","port":9000},
            "tags":{"peer.service":"memcached","net.peer.ip":"not-an-ip","network.peer.port":"99999"}}"#;
        let span: Span = serde_json::from_str(json).unwrap();
        let remote = span.normalize().unwrap().remote_endpoint.unwrap();
        assert_eq!(remote.service_name.as_deref(), Some("cache-a"));
        assert_eq!(
            (remote.ipv4, remote.ipv6, remote.port),
            (None, None, Some(9000))
        );

        // No peer attributes: no remote endpoint is made up.
        let json = r#"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","id":"00f067aa0ba902b7"}"#;
        let span: Span = serde_json::from_str(json).unwrap();
        assert_eq!(span.normalize().unwrap().remote_endpoint, None);
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
