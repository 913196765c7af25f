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
pub(crate) fn record_server(span: &OpSpan, server: &Server, peer: &Peer) {
    let Some(fields) = span.op_fields() else {
        return;
    };
    let [Some(address), Some(port), Some(service), Some(peer_address), Some(peer_port), Some(transport)] =
        OpField::SERVER.map(|field| field.of(fields))
    else {
        return;
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

/// The `op_span!` fields recorded through [`OpSpan::op_fields`], by their
/// position in the macro's field list.
#[derive(Clone, Copy, Debug)]
enum OpField {
    ServerAddress = 3,
    ServerPort = 4,
    PeerService = 5,
    PeerAddress = 6,
    PeerPort = 7,
    Transport = 8,
    Hit = 11,
    ValueSize = 14,
}

impl OpField {
    /// The fields `record_server` records, in its order.
    const SERVER: [OpField; 6] = [
        OpField::ServerAddress,
        OpField::ServerPort,
        OpField::PeerService,
        OpField::PeerAddress,
        OpField::PeerPort,
        OpField::Transport,
    ];

    /// The field's name in `op_span!` (checked in debug builds and tests).
    fn name(self) -> &'static str {
        match self {
            OpField::ServerAddress => "server.address",
            OpField::ServerPort => "server.port",
            OpField::PeerService => "peer.service",
            OpField::PeerAddress => "network.peer.address",
            OpField::PeerPort => "network.peer.port",
            OpField::Transport => "network.transport",
            OpField::Hit => "memcached.hit",
            OpField::ValueSize => "memcached.value_size",
        }
    }

    /// This field of an `op_span!` span's field set, taken by position: no
    /// name is compared (a comparison per field read the callsite's cold
    /// name strings on every traced call).
    fn of(self, fields: &FieldSet) -> Option<Field> {
        let field = fields.iter().nth(self as usize);
        debug_assert_eq!(field.as_ref().map(Field::name), Some(self.name()));
        field
    }
}

impl OpSpan {
    /// The span's fields, when a subscriber records it. An `OpSpan` is only
    /// made by `op_span!`, so they are that macro's, in its order.
    fn op_fields(&self) -> Option<&'static FieldSet> {
        if self.span.is_disabled() {
            return None;
        }
        self.span.metadata().map(|m| m.fields())
    }
}

/// Records a single-key retrieval's `memcached.hit` and, on a hit,
/// `memcached.value_size`, in one `record_all` (one subscriber round trip
/// instead of two).
pub(crate) fn record_hit(span: &OpSpan, value_size: Option<usize>) {
    let Some(fields) = span.op_fields() else {
        return;
    };
    let (Some(hit), Some(size)) = (OpField::Hit.of(fields), OpField::ValueSize.of(fields)) else {
        return;
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
    /// the ones `op_span!` declares them at.
    #[test]
    fn op_field_positions_match_the_macro() {
        let subscriber = tracing_subscriber::registry();
        tracing::subscriber::with_default(subscriber, || {
            let span = op_span!("get");
            let fields = span.op_fields().expect("an enabled span");
            let others = [OpField::Hit, OpField::ValueSize];
            for field in OpField::SERVER.into_iter().chain(others) {
                let found = field.of(fields).expect("a field at that position");
                assert_eq!(found.name(), field.name());
                assert_eq!(fields.field(field.name()), Some(found));
            }
        });
    }

    /// A span no subscriber records has no fields to record into.
    #[test]
    fn disabled_op_span_has_no_fields() {
        let span = op_span!("get");
        assert!(span.op_fields().is_none());
    }
}
