//! Every public method emits one span named after the operation with the
//! OpenTelemetry database-client attributes; checked with a capturing
//! `tracing_subscriber` layer written here (no OpenTelemetry dependency).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use memcache_client::{
    Expiry, MetaArithmeticFlags, MetaDeleteFlags, MetaGetFlags, MetaRequest, MetaSetFlags,
    StoreOptions,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Instrument, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

#[derive(Clone, Debug)]
struct Captured {
    name: String,
    fields: BTreeMap<String, String>,
}

/// Records every span's name and fields (initial and later-recorded).
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Vec<Captured>>>,
    open: Arc<Mutex<HashMap<u64, usize>>>,
    /// Every event: the name of its span (explicit parent or current), and
    /// its fields.
    events: Arc<Mutex<Vec<CapturedEvent>>>,
}

/// An event: the name of its span, and its fields.
type CapturedEvent = (Option<String>, BTreeMap<String, String>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        let mut captured = Captured {
            name: attrs.metadata().name().to_string(),
            fields: BTreeMap::new(),
        };
        attrs.record(&mut Fields(&mut captured.fields));
        let mut spans = self.spans.lock().unwrap();
        spans.push(captured);
        self.open
            .lock()
            .unwrap()
            .insert(id.into_u64(), spans.len() - 1);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let Some(&index) = self.open.lock().unwrap().get(&id.into_u64()) else {
            return;
        };
        values.record(&mut Fields(&mut self.spans.lock().unwrap()[index].fields));
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        self.open.lock().unwrap().remove(&id.into_u64());
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let parent = ctx.event_span(event).map(|span| span.name().to_string());
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.events.lock().unwrap().push((parent, fields));
    }
}

impl Capture {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(Registry::default().with(self.clone()))
    }

    /// The most recent span with this name.
    fn last(&self, name: &str) -> Captured {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|s| s.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("no span named {name}"))
    }

    fn all(&self) -> Vec<Captured> {
        self.spans.lock().unwrap().clone()
    }
}

/// The attributes every operation span carries.
fn assert_client_span(span: &Captured, port: u16, with_server: bool) {
    let f = &span.fields;
    let get = |k: &str| f.get(k).map(String::as_str);
    assert_eq!(get("otel.kind"), Some("client"), "{span:?}");
    assert_eq!(get("db.system.name"), Some("memcached"), "{span:?}");
    assert_eq!(
        get("db.operation.name"),
        Some(span.name.as_str()),
        "{span:?}"
    );
    assert!(get("error.type").is_none(), "{span:?}");
    assert!(get("otel.status_code").is_none(), "{span:?}");
    if with_server {
        let port = port.to_string();
        assert_eq!(get("server.address"), Some("127.0.0.1"), "{span:?}");
        assert_eq!(get("server.port"), Some(port.as_str()), "{span:?}");
        assert_eq!(get("peer.service"), Some("memcached"), "{span:?}");
        assert_eq!(get("network.peer.address"), Some("127.0.0.1"), "{span:?}");
        assert_eq!(get("network.peer.port"), Some(port.as_str()), "{span:?}");
        assert_eq!(get("network.transport"), Some("tcp"), "{span:?}");
        assert_eq!(get("peer.service"), Some("memcached"), "{span:?}");
    }
}

fn field<'a>(span: &'a Captured, name: &str) -> Option<&'a str> {
    span.fields.get(name).map(String::as_str)
}

const SECRET_VALUE: &str = "secret-value-never-in-spans";

#[tokio::test]
async fn every_public_method_emits_its_span() {
    let server = common::start_server(&[]);
    let port = server.addr().port();
    let c = common::client_for(&server);
    let capture = Capture::default();
    let _guard = capture.install();
    let o = StoreOptions::default();
    let ttl = Expiry::After(Duration::from_secs(60));

    c.set("k", SECRET_VALUE, o).await.unwrap();
    let s = capture.last("set");
    assert_client_span(&s, port, true);
    assert_eq!(field(&s, "memcached.outcome"), Some("stored"));
    assert_eq!(
        field(&s, "memcached.value_size"),
        Some(SECRET_VALUE.len().to_string().as_str())
    );
    assert_eq!(field(&s, "memcached.key"), None, "keys off by default");

    c.get("k").await.unwrap();
    let s = capture.last("get");
    assert_client_span(&s, port, true);
    assert_eq!(field(&s, "memcached.hit"), Some("true"));
    c.get("absent").await.unwrap();
    assert_eq!(field(&capture.last("get"), "memcached.hit"), Some("false"));

    let cas = c.gets("k").await.unwrap().unwrap().cas.unwrap();
    assert_eq!(field(&capture.last("gets"), "memcached.hit"), Some("true"));
    c.gat("k", ttl).await.unwrap();
    c.gats("k", ttl).await.unwrap();
    c.cas("k", "v2", cas, o).await.unwrap();
    assert_eq!(
        field(&capture.last("cas"), "memcached.cas_outcome"),
        Some("stored")
    );
    c.cas("k", "v3", cas, o).await.unwrap();
    assert_eq!(
        field(&capture.last("cas"), "memcached.cas_outcome"),
        Some("exists")
    );
    c.add("k", "x", o).await.unwrap();
    assert_eq!(
        field(&capture.last("add"), "memcached.outcome"),
        Some("not_stored")
    );
    c.replace("k", "x", o).await.unwrap();
    c.append("k", "y", o).await.unwrap();
    c.prepend("k", "w", o).await.unwrap();

    c.get_many(&["k", "absent", "absent2"]).await.unwrap();
    let s = capture.last("get_many");
    assert_client_span(&s, port, true);
    assert_eq!(field(&s, "db.operation.batch.size"), Some("3"));
    assert_eq!(field(&s, "memcached.hits"), Some("1"));
    assert_eq!(field(&s, "memcached.misses"), Some("2"));
    c.gets_many(&["k"]).await.unwrap();

    c.set_many(&[("n", "1"), ("m", "2")], o).await.unwrap();
    assert_eq!(
        field(&capture.last("set_many"), "db.operation.batch.size"),
        Some("2")
    );
    c.incr("n", 1).await.unwrap();
    assert_eq!(field(&capture.last("incr"), "memcached.hit"), Some("true"));
    c.decr("n", 1).await.unwrap();
    c.incr_noreply("n", 1).await.unwrap();
    c.decr_noreply("n", 1).await.unwrap();
    c.touch("n", ttl).await.unwrap();
    assert_eq!(
        field(&capture.last("touch"), "memcached.outcome"),
        Some("touched")
    );
    c.touch_noreply("n", ttl).await.unwrap();
    c.delete("m").await.unwrap();
    assert_eq!(
        field(&capture.last("delete"), "memcached.outcome"),
        Some("deleted")
    );
    c.delete_noreply("m").await.unwrap();
    c.delete_many(&["n", "m"]).await.unwrap();
    assert_eq!(
        field(&capture.last("delete_many"), "db.operation.batch.size"),
        Some("2")
    );

    let get_flags = MetaGetFlags {
        return_value: true,
        ..Default::default()
    };
    c.meta_set("mk", "mv", MetaSetFlags::default())
        .await
        .unwrap();
    c.meta_get("mk", get_flags).await.unwrap();
    let s = capture.last("meta_get");
    assert_eq!(field(&s, "memcached.outcome"), Some("VA"));
    assert_eq!(field(&s, "memcached.hit"), Some("true"));
    c.meta_arithmetic(
        "mc",
        MetaArithmeticFlags {
            vivify: Some(60),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    c.meta_debug("mk").await.unwrap();
    c.meta_delete("mk", MetaDeleteFlags::default())
        .await
        .unwrap();
    c.meta_pipeline(&[MetaRequest::Get {
        key: b"mk",
        flags: get_flags,
    }])
    .await
    .unwrap();
    assert_eq!(
        field(&capture.last("meta_pipeline"), "db.operation.batch.size"),
        Some("1")
    );

    c.version().await.unwrap();
    c.stats(None).await.unwrap();
    c.verbosity(0).await.unwrap();
    c.flush_all(None).await.unwrap();
    c.quit().await.unwrap();

    let with_server = [
        "set",
        "get",
        "gets",
        "gat",
        "gats",
        "cas",
        "add",
        "replace",
        "append",
        "prepend",
        "get_many",
        "gets_many",
        "set_many",
        "incr",
        "decr",
        "touch",
        "delete",
        "delete_many",
        "meta_set",
        "meta_get",
        "meta_arithmetic",
        "meta_debug",
        "meta_delete",
        "meta_pipeline",
        "version",
        "stats",
        "verbosity",
        "flush_all",
    ];
    for name in with_server {
        assert_client_span(&capture.last(name), port, true);
    }
    assert_client_span(&capture.last("quit"), port, false);
    // Values never appear in any span.
    for span in capture.all() {
        assert!(
            span.fields.values().all(|v| !v.contains(SECRET_VALUE)),
            "{span:?}"
        );
    }
}

#[tokio::test]
async fn failures_set_error_type_and_status() {
    let server = common::start_server(&[]);
    let c = common::client_for(&server);
    let capture = Capture::default();
    let _guard = capture.install();
    assert!(c.get("bad key").await.is_err());
    let s = capture.last("get");
    assert_eq!(field(&s, "error.type"), Some("invalid_key"));
    assert_eq!(field(&s, "otel.status_code"), Some("ERROR"));
    assert_eq!(field(&s, "memcached.key"), None);

    c.set("text", "abc", StoreOptions::default()).await.unwrap();
    assert!(c.incr("text", 1).await.is_err());
    let s = capture.last("incr");
    assert_eq!(field(&s, "error.type"), Some("client_error"));
    assert_eq!(field(&s, "otel.status_code"), Some("ERROR"));
}

#[tokio::test]
async fn keys_are_recorded_only_when_enabled() {
    let server = common::start_server(&[]);
    let c = common::builder()
        .server_addr(server.addr())
        .record_keys(true)
        .build()
        .unwrap();
    let capture = Capture::default();
    let _guard = capture.install();
    c.set("visible-key", SECRET_VALUE, StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(
        field(&capture.last("set"), "memcached.key"),
        Some("visible-key")
    );
    c.get_many(&["a", "b"]).await.unwrap();
    assert_eq!(
        field(&capture.last("get_many"), "memcached.key"),
        Some("a b")
    );
    let many: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
    c.get_many(&many).await.unwrap();
    let recorded = capture.last("get_many").fields["memcached.key"].clone();
    assert!(recorded.starts_with("k0 k1 "), "{recorded}");
    assert!(recorded.ends_with("k31 (+8 more)"), "{recorded}");
    for span in capture.all() {
        assert!(span.fields.values().all(|v| !v.contains(SECRET_VALUE)));
    }
}

#[tokio::test]
async fn peer_service_is_configurable() {
    let server = common::start_server(&[]);
    let c = common::builder()
        .server_addr(server.addr())
        .peer_service("session-cache")
        .build()
        .unwrap();
    let capture = Capture::default();
    let _guard = capture.install();
    c.get("k").await.unwrap();
    assert_eq!(
        field(&capture.last("get"), "peer.service"),
        Some("session-cache")
    );
}

#[tokio::test]
async fn works_without_any_subscriber() {
    let server = common::start_server(&[]);
    let c = common::client_for(&server);
    c.set("k", "v", StoreOptions::default()).await.unwrap();
    assert!(c.get("k").await.unwrap().is_some());
}

#[tokio::test]
async fn marking_a_server_dead_is_an_event_of_the_failing_call() {
    let capture = Capture::default();
    let _guard = capture.install();
    let addr = common::dead_addr();
    let c = common::builder()
        .server_addr(addr)
        .connect_timeout(Duration::from_secs(2))
        .dead_after_failures(1)
        .build()
        .unwrap();
    // The caller has a span of its own: the warning must go to the call's
    // span, which is not entered while the call runs.
    let result = c.get("k").instrument(tracing::info_span!("caller")).await;
    assert!(result.is_err(), "{result:?}");
    let events = capture.events.lock().unwrap().clone();
    let warning = events
        .iter()
        .find(|(_, fields)| {
            fields
                .get("message")
                .is_some_and(|m| m.contains("marked dead"))
        })
        .unwrap_or_else(|| panic!("no marked-dead warning in {events:?}"));
    assert_eq!(warning.0.as_deref(), Some("get"), "{events:?}");
    assert_eq!(
        warning.1.get("server.address").map(String::as_str),
        Some(addr.ip().to_string().as_str())
    );
}
