//! Span conventions: OpenTelemetry database client semantics.
//!
//! Every public call runs in an INFO span named after the operation (`get`,
//! `set`, `get_many`, ...), which tracing-opentelemetry exports as a client
//! span. Fields (all declared up front, recorded when known):
//!
//! | field | meaning |
//! | --- | --- |
//! | `otel.kind` | `"client"` |
//! | `db.system.name` | `"memcached"` |
//! | `db.operation.name` | the operation, as the span name |
//! | `server.address`, `server.port` | configured host (or socket path) and port, when one server is involved |
//! | `peer.service` | the service name of memcached (`peer_service`, default `memcached`): the remote service in Zipkin and Jaeger |
//! | `network.peer.address`, `network.peer.port`, `network.transport` | the connected peer (`tcp`/`unix`) |
//! | `db.operation.batch.size` | number of keys or requests of a multi-key call |
//! | `memcached.key` | the key(s), only with `record_keys` on; values never |
//! | `memcached.hit` | single-key retrieval found the key |
//! | `memcached.hits`, `memcached.misses` | multi-key retrieval counts |
//! | `memcached.value_size` | bytes of the value stored or retrieved |
//! | `memcached.outcome` | `stored`, `not_stored`, `exists`, `not_found`, `deleted`, `touched`, `noreply`, meta status |
//! | `memcached.cas_outcome` | the outcome of `cas` |
//! | `error.type`, `otel.status_code` | on failure: [`crate::Error::kind`] and `"ERROR"` |
//!
//! With no subscriber interested the span is disabled and every helper here
//! returns before formatting anything.

use tracing::field::{Field, FieldSet, Value};
use tracing::Span;

use crate::conn::Peer;
use crate::server::Server;
use crate::Error;

/// An operation span with every field declared (see the module docs).
macro_rules! op_span {
    ($name:literal) => {
        $crate::trace::OpSpan {
            op: const { $crate::operation::Operation::named($name) },
            span: tracing::info_span!(
            $name,
            otel.kind = "client",
            db.system.name = "memcached",
            db.operation.name = $name,
            server.address = tracing::field::Empty,
            server.port = tracing::field::Empty,
            peer.service = tracing::field::Empty,
            network.peer.address = tracing::field::Empty,
            network.peer.port = tracing::field::Empty,
            network.transport = tracing::field::Empty,
            db.operation.batch.size = tracing::field::Empty,
            memcached.key = tracing::field::Empty,
            memcached.hit = tracing::field::Empty,
            memcached.hits = tracing::field::Empty,
            memcached.misses = tracing::field::Empty,
            memcached.value_size = tracing::field::Empty,
            memcached.outcome = tracing::field::Empty,
            memcached.cas_outcome = tracing::field::Empty,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            ),
        }
    };
}
pub(crate) use op_span;

/// An operation's span and which operation it is. The operation is kept
/// beside the span because a span no subscriber wants carries no metadata,
/// and metrics still name the operation.
pub(crate) struct OpSpan {
    pub op: crate::operation::Operation,
    pub span: Span,
}

impl std::ops::Deref for OpSpan {
    type Target = Span;
    fn deref(&self) -> &Span {
        &self.span
    }
}

/// A count, size or port as the `i64` that tracing-opentelemetry exports as
/// an integer attribute. Its field visitor has no `record_u64`, so a `u64`
/// or `u16` would go through `record_debug`: formatted into a `String` on
/// every call (a measurable share of a traced call) and exported as a
/// string attribute.
pub(crate) fn int(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// Records the server and the connected peer.
///
/// In one `record_all` call: each `Span::record` is a separate trip through
/// the subscriber (span lookup, extension lock, attribute update), which
/// made these six fields the largest single cost of a traced call.
pub(crate) fn record_server(span: &Span, server: &Server, peer: &Peer) {
    if span.is_disabled() {
        return;
    }
    let Some(fields) = span.metadata().map(|m| m.fields()) else {
        return;
    };
    let (
        Some(address),
        Some(port),
        Some(service),
        Some(peer_address),
        Some(peer_port),
        Some(transport),
    ) = (
        op_field(fields, 3, "server.address"),
        op_field(fields, 4, "server.port"),
        op_field(fields, 5, "peer.service"),
        op_field(fields, 6, "network.peer.address"),
        op_field(fields, 7, "network.peer.port"),
        op_field(fields, 8, "network.transport"),
    )
    else {
        return; // not an `op_span!` span
    };
    let server_port = server.addr.port().map(int);
    let peer_port_value = peer.port.map(int);
    let transport_value = if peer.port.is_some() { "tcp" } else { "unix" };
    let values = [
        (&address, Some(&server.host.as_str() as &dyn Value)),
        (&port, server_port.as_ref().map(|p| p as &dyn Value)),
        (&service, Some(&server.peer_service.as_str() as &dyn Value)),
        (&peer_address, Some(&peer.address.as_str() as &dyn Value)),
        (
            &peer_port,
            peer_port_value.as_ref().map(|p| p as &dyn Value),
        ),
        (&transport, Some(&transport_value as &dyn Value)),
    ];
    span.record_all(&fields.value_set(&values));
}

/// `op_span!`'s field `name`, taken at its position `index` in the macro's
/// field list (one comparison, where a search by name compared it with
/// every field before it: a few hundred instructions per traced call), or
/// found by name in a span declared otherwise.
fn op_field(fields: &FieldSet, index: usize, name: &str) -> Option<Field> {
    match fields.iter().nth(index) {
        Some(field) if field.name() == name => Some(field),
        _ => fields.field(name),
    }
}

/// Records a single-key retrieval's `memcached.hit` and, on a hit,
/// `memcached.value_size`, in one `record_all` (one subscriber round trip
/// instead of two).
pub(crate) fn record_hit(span: &Span, value_size: Option<usize>) {
    if span.is_disabled() {
        return;
    }
    let Some(fields) = span.metadata().map(|m| m.fields()) else {
        return;
    };
    let (Some(hit), Some(size)) = (
        op_field(fields, 11, "memcached.hit"),
        op_field(fields, 14, "memcached.value_size"),
    ) else {
        return; // not an `op_span!` span
    };
    let hit_value = value_size.is_some();
    let size_value = value_size.map(int);
    let values = [
        (&hit, Some(&hit_value as &dyn Value)),
        (&size, size_value.as_ref().map(|s| s as &dyn Value)),
    ];
    span.record_all(&fields.value_set(&values));
}

/// Records the key when the configuration allows it.
pub(crate) fn record_key(span: &Span, record_keys: bool, key: &[u8]) {
    if record_keys && !span.is_disabled() {
        span.record("memcached.key", String::from_utf8_lossy(key).as_ref());
    }
}

/// Most keys written into one span's `memcached.key`: a multi-get of
/// thousands of keys must not produce a megabyte attribute.
const MAX_RECORDED_KEYS: usize = 32;

/// Records several keys, space-separated (at most [`MAX_RECORDED_KEYS`],
/// then a count of the rest), when the configuration allows it.
pub(crate) fn record_keys<K: AsRef<[u8]>>(span: &Span, record_keys: bool, keys: &[K]) {
    if record_keys && !span.is_disabled() {
        let mut text: Vec<_> = keys
            .iter()
            .take(MAX_RECORDED_KEYS)
            .map(|k| String::from_utf8_lossy(k.as_ref()))
            .collect();
        if keys.len() > MAX_RECORDED_KEYS {
            let more = format!("(+{} more)", keys.len() - MAX_RECORDED_KEYS);
            text.push(more.into());
        }
        span.record("memcached.key", text.join(" ").as_str());
    }
}

/// Records a failure as `error.type` and `otel.status_code`.
pub(crate) fn record_result<T>(span: &Span, result: &Result<T, Error>) {
    if let Err(e) = result {
        if !span.is_disabled() {
            span.record("error.type", e.kind());
            span.record("otel.status_code", "ERROR");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The positions `record_server` and `record_hit` take fields at are
    /// the ones `op_span!` declares them at (else they fall back to a
    /// search by name: correct, but slower).
    #[test]
    fn op_field_positions_match_the_macro() {
        let subscriber = tracing_subscriber::registry();
        tracing::subscriber::with_default(subscriber, || {
            let span = op_span!("get");
            let fields = span.metadata().expect("an enabled span").fields();
            for (index, name) in [
                (3, "server.address"),
                (4, "server.port"),
                (5, "peer.service"),
                (6, "network.peer.address"),
                (7, "network.peer.port"),
                (8, "network.transport"),
                (11, "memcached.hit"),
                (14, "memcached.value_size"),
            ] {
                let field = fields.iter().nth(index).expect("a field there");
                assert_eq!(field.name(), name);
                assert_eq!(op_field(fields, index, name), Some(field));
            }
            // A wrong position still finds the field by name.
            assert_eq!(
                op_field(fields, 0, "memcached.hit").map(|f| f.name()),
                Some("memcached.hit")
            );
        });
    }
}
