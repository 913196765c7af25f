//! Keys and values are the service's data: none may appear in a span, an
//! event (log line) or an error message (Display or Debug) unless the user
//! opted in with `record_keys` (and then only keys, never values). A
//! capturing `tracing` layer records everything the client emits while a
//! run full of failures (refused input, a hostile server, timeouts, a dead
//! server, server errors, refused credentials) is driven with secret keys,
//! values and passwords; passwords never appear, not even in `Debug`.

mod common;
mod fake;
mod pki;

use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake::{Behavior, FakeServer};
use memcache_client::{Credentials, Limits, MetaGetFlags, MetaRequest, MetaSetFlags, StoreOptions};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

/// Everything emitted, as text: span names and fields, event fields.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Text<'a>(&'a mut String);

impl Visit for Text<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push_str(&format!(" {}={}", field.name(), value));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let mut text = self.0.lock().unwrap();
        text.push_str(&format!("\nspan {}:", attrs.metadata().name()));
        attrs.record(&mut Text(&mut text));
    }
    fn on_record(&self, _id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut text = self.0.lock().unwrap();
        text.push_str("\nrecord:");
        values.record(&mut Text(&mut text));
    }
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut text = self.0.lock().unwrap();
        text.push_str(&format!("\nevent {}:", event.metadata().level()));
        event.record(&mut Text(&mut text));
    }
}

const SECRET_KEY: &str = "SECRETKEY-4f1d";
const SECRET_VALUE: &str = "SECRETVALUE-9c2e";
const SECRET_PASSWORD: &str = "SECRETPASSWORD-77ab";
const WRONG_PASSWORD: &str = "SECRETPASSWORD-wrong";

/// Drives a failure-heavy run; returns every error as Display and Debug.
async fn failing_run(record_keys: bool) -> Vec<String> {
    let mut seen = Vec::new();
    // Debug output of clients and configurations, checked like errors.
    let mut dumps = Vec::new();
    let mut note = |r: Result<String, memcache_client::Error>| {
        if let Err(e) = r {
            seen.push(format!("{e} / {e:?} / {}", e.kind()));
        }
    };
    let key = SECRET_KEY;
    let value = SECRET_VALUE.repeat(4);
    let o = StoreOptions::default();

    // A healthy server first: the success path must not leak either.
    let healthy = common::builder()
        .server_addr(common::shared_addr())
        .record_keys(record_keys)
        .build()
        .unwrap();
    let p = common::prefix("secrecy");
    let k = format!("{p}{key}");
    note(healthy.set(&k, &value, o).await.map(|r| format!("{r:?}")));
    note(healthy.get(&k).await.map(|r| format!("{}", r.is_some())));
    note(
        healthy
            .get_many(&[&k])
            .await
            .map(|r| format!("{}", r.len())),
    );
    let flags = MetaGetFlags {
        return_value: true,
        return_key: true,
        ..MetaGetFlags::default()
    };
    note(healthy.meta_get(&k, flags).await.map(|r| r.status_text()));
    note(
        healthy
            .meta_pipeline(&[MetaRequest::Get {
                key: k.as_bytes(),
                flags,
            }])
            .await
            .map(|r| r.len().to_string()),
    );

    // Refused before the wire: bad keys around the secret, oversized value.
    let bad_key = format!("{key} {key}\r\n");
    note(healthy.get(&bad_key).await.map(|_| String::new()));
    note(
        healthy
            .set(&bad_key, &value, o)
            .await
            .map(|_| String::new()),
    );
    let huge = SECRET_VALUE.repeat(Limits::default().max_value_len / SECRET_VALUE.len() + 1);
    note(healthy.set(&k, &huge, o).await.map(|_| String::new()));
    note(
        healthy
            .meta_set(&bad_key, &value, MetaSetFlags::default())
            .await
            .map(|_| String::new()),
    );

    // A hostile server echoing the secrets in broken replies.
    let echoes = [
        format!("VALUE {key} 0 3\r\n{SECRET_VALUE}\r\nEND\r\n"),
        format!("VALUE {key} 0 999999999\r\n"),
        format!("{key} {SECRET_VALUE}\r\n"),
        format!(
            "VALUE other-{key} 0 {}\r\n{SECRET_VALUE}\r\nEND\r\n",
            SECRET_VALUE.len()
        ),
        format!(
            "VA {} O99 k{key}\r\n{SECRET_VALUE}\r\nMN\r\n",
            SECRET_VALUE.len()
        ),
    ];
    for reply in echoes {
        let fake = FakeServer::start(vec![Behavior::Reply(reply.into_bytes())]).await;
        let c = common::builder()
            .server_addr(fake.addr)
            .operation_timeout(Duration::from_millis(300))
            .record_keys(record_keys)
            .build()
            .unwrap();
        note(c.get(key).await.map(|r| format!("{r:?}")));
        note(
            c.meta_pipeline(&[MetaRequest::Get {
                key: key.as_bytes(),
                flags,
            }])
            .await
            .map(|r| format!("{r:?}")),
        );
    }
    // Silence (timeouts), then a server that is gone (IO errors, then
    // marked dead).
    let silent = FakeServer::start(vec![Behavior::Silent]).await;
    let c = common::builder()
        .server_addr(silent.addr)
        .operation_timeout(Duration::from_millis(100))
        .dead_after_failures(2)
        .record_keys(record_keys)
        .build()
        .unwrap();
    for _ in 0..3 {
        note(c.set(key, &value, o).await.map(|r| format!("{r:?}")));
    }
    let gone = common::dead_addr();
    let c = common::builder()
        .server_addr(gone)
        .dead_after_failures(1)
        .record_keys(record_keys)
        .build()
        .unwrap();
    for _ in 0..2 {
        note(c.get(key).await.map(|r| format!("{r:?}")));
    }

    // A real server refusing the item (SERVER_ERROR object too large).
    let small = common::start_server(&["-I", "1m"]);
    let c = common::builder()
        .server_addr(small.addr())
        .limits(Limits {
            max_value_len: 4 << 20,
            ..Limits::default()
        })
        .record_keys(record_keys)
        .build()
        .unwrap();
    note(c.set(key, &huge, o).await.map(|r| format!("{r:?}")));
    dumps.push(format!("{c:?} {:?}", c.config()));

    // Authentication: neither a wrong nor a right password shows anywhere.
    let dir = pki::temp_dir();
    let file = dir.join("auth");
    std::fs::write(&file, format!("user:{SECRET_PASSWORD}\n")).unwrap();
    let auth = common::start_server(&["-Y", &file.display().to_string()]);
    for password in [SECRET_PASSWORD, WRONG_PASSWORD] {
        let c = common::builder()
            .server_addr(auth.addr())
            .credentials(Credentials::new("user", password).unwrap())
            .record_keys(record_keys)
            .build()
            .unwrap();
        note(c.set(key, &value, o).await.map(|r| format!("{r:?}")));
        dumps.push(format!("{c:?} {:?}", c.config()));
    }
    let _ = std::fs::remove_dir_all(dir);
    seen.extend(dumps);
    seen
}

trait StatusText {
    fn status_text(&self) -> String;
}

impl StatusText for memcache_client::MetaResponse {
    fn status_text(&self) -> String {
        format!("{:?}", self.status)
    }
}

async fn captured_run(record_keys: bool) -> (String, Vec<String>) {
    let capture = Capture::default();
    let subscriber = Registry::default().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let errors = failing_run(record_keys).await;
    let text = capture.0.lock().unwrap().clone();
    (text, errors)
}

#[tokio::test]
async fn no_key_or_value_leaks_without_opt_in() {
    let (text, errors) = captured_run(false).await;
    // The run really failed in many ways and was really traced.
    assert!(errors.len() >= 15, "{errors:#?}");
    for kind in [
        "invalid_key",
        "value_too_large",
        "protocol",
        "unexpected_response",
        "timeout",
        "io",
        "server_marked_dead",
        "server_error",
        "auth_failed",
    ] {
        assert!(
            errors.iter().any(|e| e.ends_with(kind)),
            "no {kind} error in {errors:#?}"
        );
    }
    assert!(text.contains("error.type"), "nothing captured: {text}");
    for secret in [SECRET_KEY, SECRET_VALUE, "SECRETPASSWORD"] {
        assert!(!text.contains(secret), "{secret} in the trace:\n{text}");
        for e in &errors {
            assert!(!e.contains(secret), "{secret} in an error: {e}");
        }
    }
}

#[tokio::test]
async fn opted_in_keys_are_recorded_but_values_never() {
    let (text, errors) = captured_run(true).await;
    assert!(
        text.contains(SECRET_KEY),
        "record_keys on, but no key recorded"
    );
    assert!(
        !text.contains(SECRET_VALUE),
        "a value in the trace:\n{text}"
    );
    for e in &errors {
        // Errors never carry keys or values, opt-in or not.
        assert!(!e.contains(SECRET_KEY) && !e.contains(SECRET_VALUE), "{e}");
        assert!(!e.contains("SECRETPASSWORD"), "{e}");
    }
}
