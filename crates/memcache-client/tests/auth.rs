//! memcached's ASCII authentication (`-Y <auth file>`): good credentials
//! open authenticated pooled connections; bad ones give the typed
//! [`Error::AuthFailed`] (not a generic error) and never a pooled
//! connection; and a server that does not ask for authentication never
//! receives the password (which it would store as an ordinary item).

mod common;
mod pki;

use std::time::Duration;

use memcache_client::{Client, Credentials, Error, StoreOptions};
use memcached_harness::Memcached;

struct AuthServer {
    server: Memcached,
    dir: std::path::PathBuf,
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn auth_server() -> AuthServer {
    let dir = pki::temp_dir();
    let file = dir.join("auth");
    std::fs::write(&file, "alice:wonderland\nbob:builder\n").unwrap();
    let server = common::start_server(&["-Y", &file.display().to_string()]);
    AuthServer { server, dir }
}

fn client(server: &Memcached, credentials: Option<Credentials>) -> Client {
    let mut b = common::builder()
        .server_addr(server.addr())
        .connect_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(2));
    if let Some(c) = credentials {
        b = b.credentials(c);
    }
    b.build().unwrap()
}

#[tokio::test]
async fn good_credentials_authenticate_every_pooled_connection() {
    let s = auth_server();
    let c = client(
        &s.server,
        Some(Credentials::new("alice", "wonderland").unwrap()),
    );
    c.set("k", "v", StoreOptions::default()).await.unwrap();
    // Many concurrent calls: several new connections, each authenticated.
    let calls: Vec<_> = (0..12).map(|_| c.get("k")).collect();
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(&r.unwrap().unwrap().value[..], b"v");
    }
    assert!(c.idle_connections()[0] > 1);
    // Another user of the same file.
    let bob = client(&s.server, Some(Credentials::new("bob", "builder").unwrap()));
    assert!(bob.get("k").await.unwrap().is_some());
    // The authentication `set`s did not store anything.
    let stats = &c.stats(None).await.unwrap()[0].1;
    assert_eq!(stats["curr_items"], "1");
}

#[tokio::test]
async fn bad_credentials_are_a_typed_auth_error() {
    let s = auth_server();
    for (user, password) in [("alice", "looking-glass"), ("mallory", "wonderland")] {
        let c = client(&s.server, Some(Credentials::new(user, password).unwrap()));
        for _ in 0..3 {
            let err = c.get("k").await.unwrap_err();
            assert!(matches!(err, Error::AuthFailed), "{err:?}");
            assert_eq!(err.kind(), "auth_failed");
            // Nothing in the message about who or what.
            assert_eq!(err.to_string(), "authentication failed");
            let err = c.set("k", "v", StoreOptions::default()).await.unwrap_err();
            assert!(matches!(err, Error::AuthFailed), "{err:?}");
        }
        // A refused connection is never pooled, and a refusal does not mark
        // the server dead (it is a configuration problem, not an outage).
        assert_eq!(c.idle_connections(), vec![0]);
        assert!(c.server_for_key("k").is_ok());
    }
    // The server is fine for good credentials afterwards.
    let good = client(
        &s.server,
        Some(Credentials::new("alice", "wonderland").unwrap()),
    );
    assert!(good.get("k").await.unwrap().is_none());
}

#[tokio::test]
async fn no_credentials_for_an_authenticating_server_is_a_typed_error() {
    let s = auth_server();
    let c = client(&s.server, None);
    let err = c.get("k").await.unwrap_err();
    assert!(matches!(err, Error::Client(_)), "{err:?}");
    assert!(err.to_string().contains("unauthenticated"), "{err}");
}

#[tokio::test]
async fn the_password_never_reaches_a_server_that_did_not_ask_for_it() {
    let server = common::start_server(&[]);
    let c = client(
        &server,
        Some(Credentials::new("alice", "wonderland").unwrap()),
    );
    assert!(c.get("k").await.unwrap().is_none());
    let stats = &c.stats(None).await.unwrap()[0].1;
    assert_eq!(stats["cmd_set"], "0");
    assert_eq!(stats["curr_items"], "0");
}

#[test]
fn credentials_that_cannot_be_sent_are_refused() {
    for (u, p) in [
        ("", "x"),
        ("u", ""),
        ("a b", "x"),
        ("u", "p w"),
        ("u", "p\r\n"),
    ] {
        assert!(matches!(Credentials::new(u, p), Err(Error::Config(_))));
    }
    let shown = format!(
        "{:?}",
        common::builder()
            .server("127.0.0.1:1")
            .credentials(Credentials::new("alice", "wonderland").unwrap())
            .config()
    );
    assert!(
        shown.contains("alice") && !shown.contains("wonderland"),
        "{shown}"
    );
}
