//! Checks a JSON answer against the definitions of Zipkin's
//! `zipkin2-api.yaml` (openzipkin/zipkin-api): `Span`, `Endpoint`,
//! `Annotation`, `Tags`, `Trace` and `ListOfTraces`, written out by hand
//! (types, required fields, lengths, enums, the id patterns, and no
//! properties the definitions do not name).

use serde_json::Value;

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn hex_field(span: &Value, name: &str, min: usize, max: usize) -> Result<(), String> {
    match span.get(name) {
        None => Ok(()),
        Some(Value::String(s)) if (min..=max).contains(&s.len()) && is_lower_hex(s) => Ok(()),
        Some(other) => Err(format!("{name} {other} is not {min}-{max} lowercase hex")),
    }
}

fn typed(value: &Value, name: &str, check: fn(&Value) -> bool, what: &str) -> Result<(), String> {
    match value.get(name) {
        Some(v) if !check(v) => Err(format!("{name} {v} is not {what}")),
        _ => Ok(()),
    }
}

fn only_known(value: &Value, known: &[&str], what: &str) -> Result<(), String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("{what} {value} is not an object"))?;
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(extra) => Err(format!(
            "{what} has property {extra:?} the spec does not define"
        )),
        None => Ok(()),
    }
}

fn endpoint(value: &Value) -> Result<(), String> {
    only_known(value, &["serviceName", "ipv4", "ipv6", "port"], "Endpoint")?;
    typed(value, "serviceName", Value::is_string, "a string")?;
    typed(
        value,
        "ipv4",
        |v| {
            v.as_str()
                .is_some_and(|s| s.parse::<std::net::Ipv4Addr>().is_ok())
        },
        "an IPv4 address",
    )?;
    typed(
        value,
        "ipv6",
        |v| {
            v.as_str()
                .is_some_and(|s| s.parse::<std::net::Ipv6Addr>().is_ok())
        },
        "an IPv6 address",
    )?;
    typed(value, "port", Value::is_i64, "an integer")
}

/// Checks one `Span`.
pub fn span(value: &Value) -> Result<(), String> {
    only_known(
        value,
        &[
            "traceId",
            "name",
            "parentId",
            "id",
            "kind",
            "timestamp",
            "duration",
            "debug",
            "shared",
            "localEndpoint",
            "remoteEndpoint",
            "annotations",
            "tags",
        ],
        "Span",
    )?;
    for required in ["traceId", "id"] {
        if value.get(required).is_none() {
            return Err(format!("Span lacks required {required}: {value}"));
        }
    }
    hex_field(value, "traceId", 16, 32)?;
    hex_field(value, "id", 16, 16)?;
    hex_field(value, "parentId", 16, 16)?;
    typed(value, "name", Value::is_string, "a string")?;
    typed(
        value,
        "kind",
        |v| {
            matches!(
                v.as_str(),
                Some("CLIENT" | "SERVER" | "PRODUCER" | "CONSUMER")
            )
        },
        "a Zipkin kind",
    )?;
    typed(value, "timestamp", Value::is_i64, "an int64")?;
    typed(value, "duration", Value::is_i64, "an int64")?;
    typed(value, "debug", Value::is_boolean, "a boolean")?;
    typed(value, "shared", Value::is_boolean, "a boolean")?;
    for name in ["localEndpoint", "remoteEndpoint"] {
        if let Some(e) = value.get(name) {
            endpoint(e)?;
        }
    }
    if let Some(annotations) = value.get("annotations") {
        let list = annotations
            .as_array()
            .ok_or_else(|| format!("annotations {annotations} is not an array"))?;
        for a in list {
            only_known(a, &["timestamp", "value"], "Annotation")?;
            if !a.get("timestamp").is_some_and(Value::is_i64)
                || !a.get("value").is_some_and(Value::is_string)
            {
                return Err(format!(
                    "Annotation {a} needs an int64 timestamp and a string value"
                ));
            }
        }
    }
    if let Some(tags) = value.get("tags") {
        let map = tags
            .as_object()
            .ok_or_else(|| format!("tags {tags} is not an object"))?;
        if let Some((k, v)) = map.iter().find(|(_, v)| !v.is_string()) {
            return Err(format!("tag {k:?} has non-string value {v}"));
        }
    }
    Ok(())
}

/// Checks a `Trace`: an array of spans sharing one trace id.
pub fn trace(value: &Value) -> Result<(), String> {
    let spans = value
        .as_array()
        .ok_or_else(|| format!("Trace {value} is not an array"))?;
    for s in spans {
        span(s)?;
    }
    let ids: std::collections::BTreeSet<&str> =
        spans.iter().filter_map(|s| s["traceId"].as_str()).collect();
    if ids.len() > 1 {
        return Err(format!("Trace mixes trace ids {ids:?}"));
    }
    Ok(())
}

/// Checks a `ListOfTraces`.
pub fn list_of_traces(value: &Value) -> Result<(), String> {
    value
        .as_array()
        .ok_or_else(|| format!("ListOfTraces {value} is not an array"))?
        .iter()
        .try_for_each(trace)
}
