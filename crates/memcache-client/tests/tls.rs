//! TLS (feature `tls`) against a real memcached started with `-Z` and a
//! throwaway CA: a verified connection works for every kind of call; a
//! wrong CA or server name is refused with a typed TLS error; plaintext to
//! the TLS port and TLS to a plaintext port fail cleanly, without hanging;
//! a server that requires client certificates accepts ours.

#![cfg(feature = "tls")]

mod common;
mod pki;

use std::time::Duration;

use memcache_client::{
    Client, ConnectionMode, Credentials, Error, MetaGetFlags, StoreOptions, TlsConfig,
};
use memcached_harness::Memcached;
use pki::{Ca, Leaf};

/// Longest any failing call below may take: connect timeout plus slack.
const NO_HANG: Duration = Duration::from_secs(10);

fn tls_server(leaf: &Leaf, extra: &[&str]) -> Memcached {
    let option = leaf.memcached_option();
    let mut args = vec!["-Z", "-o", &option];
    args.extend_from_slice(extra);
    common::start_server(&args)
}

fn client(server: &Memcached, tls: TlsConfig) -> Client {
    common::builder()
        .server_addr(server.addr())
        .connect_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(5))
        .tls(tls)
        .build()
        .unwrap()
}

async fn must_fail<T: std::fmt::Debug>(
    call: impl std::future::Future<Output = Result<T, Error>>,
) -> Error {
    let err = tokio::time::timeout(NO_HANG, call)
        .await
        .expect("the call hung")
        .expect_err("the call must fail");
    eprintln!("refused as expected: {err}");
    err
}

#[tokio::test]
async fn verified_connection_carries_every_kind_of_call() {
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
    let server = tls_server(&leaf, &[]);
    // The server address is an IP literal: the certificate's IP SAN is checked.
    let c = client(&server, TlsConfig::from_ca_pem(ca.pem.as_bytes()).unwrap());
    let o = StoreOptions::default();
    c.set("k", "over tls", o).await.unwrap();
    assert_eq!(&c.get("k").await.unwrap().unwrap().value[..], b"over tls");
    // Large values cross many TLS records, both ways (and take the
    // concurrent write-while-reading path).
    let big: Vec<u8> = (0..900_000u32).map(|i| (i % 251) as u8).collect();
    c.set("big", &big, o).await.unwrap();
    assert_eq!(c.get("big").await.unwrap().unwrap().value, big);
    let items: Vec<(String, String)> = (0..2000)
        .map(|i| (format!("many-{i}"), format!("value-{i}")))
        .collect();
    c.set_many(&items, o).await.unwrap();
    let keys: Vec<&String> = items.iter().map(|(k, _)| k).collect();
    assert_eq!(c.get_many(&keys).await.unwrap().len(), 2000);
    let flags = MetaGetFlags {
        return_value: true,
        ..MetaGetFlags::default()
    };
    assert_eq!(
        c.meta_get("k", flags).await.unwrap().value.as_deref(),
        Some(&b"over tls"[..])
    );
    // Concurrent calls: several pooled TLS connections.
    let calls: Vec<_> = (0..16).map(|_| c.get("k")).collect();
    for r in futures_util::future::join_all(calls).await {
        assert!(r.unwrap().is_some());
    }
    assert!(c.idle_connections()[0] >= 1);

    // A DNS name instead of the address: `localhost` is in the certificate.
    let named = client(
        &server,
        TlsConfig::from_ca_pem(ca.pem.as_bytes())
            .unwrap()
            .server_name("localhost"),
    );
    assert!(named.get("k").await.unwrap().is_some());
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
    let server = tls_server(&leaf, &[]);
    let stranger = Ca::new("another CA");
    let c = client(
        &server,
        TlsConfig::from_ca_pem(stranger.pem.as_bytes()).unwrap(),
    );
    for _ in 0..3 {
        let err = must_fail(c.set("k", "v", StoreOptions::default())).await;
        assert!(matches!(err, Error::Tls(_)), "{err:?}");
        assert_eq!(err.kind(), "tls");
        assert!(err.to_string().contains("certificate"), "{err}");
    }
    assert_eq!(c.idle_connections(), vec![0]);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["cache.internal"]);
    let server = tls_server(&leaf, &[]);
    // Neither the address (127.0.0.1) nor another name matches.
    for tls in [
        TlsConfig::from_ca_pem(ca.pem.as_bytes()).unwrap(),
        TlsConfig::from_ca_pem(ca.pem.as_bytes())
            .unwrap()
            .server_name("other.internal"),
    ] {
        let err = must_fail(client(&server, tls).get("k")).await;
        assert!(matches!(err, Error::Tls(_)), "{err:?}");
    }
    // The right name works.
    let right = TlsConfig::from_ca_pem(ca.pem.as_bytes())
        .unwrap()
        .server_name("cache.internal");
    assert!(client(&server, right).get("k").await.unwrap().is_none());
}

#[tokio::test]
async fn plaintext_to_the_tls_port_fails_cleanly() {
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["127.0.0.1"]);
    let server = tls_server(&leaf, &[]);
    let plain = common::builder()
        .server_addr(server.addr())
        .connect_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let err = must_fail(plain.get("k")).await;
    assert!(
        matches!(err.kind(), "connection_closed" | "io" | "timeout"),
        "{err:?}"
    );
    let err = must_fail(plain.set("k", "v", StoreOptions::default())).await;
    assert!(
        matches!(err.kind(), "connection_closed" | "io" | "timeout"),
        "{err:?}"
    );
    assert_eq!(plain.idle_connections(), vec![0]);
}

#[tokio::test]
async fn tls_to_a_plaintext_port_fails_cleanly() {
    let ca = Ca::new("test CA");
    let server = common::start_server(&[]);
    let c = client(&server, TlsConfig::from_ca_pem(ca.pem.as_bytes()).unwrap());
    let err = must_fail(c.get("k")).await;
    assert!(matches!(err.kind(), "tls" | "connect_timeout"), "{err:?}");
    assert_eq!(c.idle_connections(), vec![0]);
}

#[tokio::test]
async fn client_certificates_are_presented_when_required() {
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["127.0.0.1"]);
    let client_leaf = ca.leaf(&["client.internal"]);
    let ca_file = ca.file();
    // ssl_verify_mode=2: the server requires a certificate from our CA.
    let require = format!("ssl_verify_mode=2,ssl_ca_cert={}", ca_file.display());
    let server = tls_server(&leaf, &["-o", &require]);

    let with_identity = TlsConfig::from_ca_pem(ca.pem.as_bytes())
        .unwrap()
        .client_identity(
            client_leaf.cert_pem.as_bytes(),
            client_leaf.key_pem.as_bytes(),
        )
        .unwrap();
    let c = client(&server, with_identity);
    c.set("k", "mutual", StoreOptions::default()).await.unwrap();
    assert_eq!(&c.get("k").await.unwrap().unwrap().value[..], b"mutual");

    // Without one the server hangs up: a typed error, no hang.
    let anonymous = client(&server, TlsConfig::from_ca_pem(ca.pem.as_bytes()).unwrap());
    let err = must_fail(anonymous.get("k")).await;
    assert!(
        matches!(err.kind(), "tls" | "io" | "connection_closed"),
        "{err:?}"
    );
}

#[tokio::test]
async fn tls_and_authentication_together() {
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["127.0.0.1"]);
    let dir = pki::temp_dir();
    let auth_file = dir.join("auth");
    std::fs::write(&auth_file, "alice:wonderland\n").unwrap();
    let auth_file = auth_file.display().to_string();
    let server = tls_server(&leaf, &["-Y", &auth_file]);
    let tls = || TlsConfig::from_ca_pem(ca.pem.as_bytes()).unwrap();
    let good = common::builder()
        .server_addr(server.addr())
        .tls(tls())
        .credentials(Credentials::new("alice", "wonderland").unwrap())
        .build()
        .unwrap();
    good.set("k", "v", StoreOptions::default()).await.unwrap();
    assert!(good.get("k").await.unwrap().is_some());
    let bad = common::builder()
        .server_addr(server.addr())
        .tls(tls())
        .credentials(Credentials::new("alice", "guess").unwrap())
        .build()
        .unwrap();
    assert!(matches!(must_fail(bad.get("k")).await, Error::AuthFailed));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_tls_material_is_a_config_error() {
    assert!(matches!(
        TlsConfig::from_ca_pem(b"not a pem"),
        Err(Error::Config(_))
    ));
    let ca = Ca::new("test CA");
    let tls = TlsConfig::from_ca_pem(ca.pem.as_bytes()).unwrap();
    assert!(matches!(
        tls.clone()
            .client_identity(ca.pem.as_bytes(), b"no key here"),
        Err(Error::Config(_))
    ));
    // TLS over a Unix socket is refused rather than silently skipped.
    let err = common::builder()
        .server("/tmp/mc.sock")
        .tls(tls)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    // Debug output carries no key material.
    let leaf = ca.leaf(&["x"]);
    let with_key = TlsConfig::from_ca_pem(ca.pem.as_bytes())
        .unwrap()
        .client_identity(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes())
        .unwrap();
    let shown = format!("{with_key:?}");
    assert!(!shown.contains("PRIVATE"), "{shown}");
}

#[tokio::test]
async fn multiplexed_a_request_queued_while_a_tls_flush_waits_goes_out_when_it_completes() {
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
    let option = leaf.memcached_option();
    let server = common::start_server(&["-Z", "-o", &option]);
    let pid = server.pid().unwrap();
    let c = Client::builder()
        .server_addr(server.addr())
        .connection_mode(ConnectionMode::Multiplexed)
        .max_connections_per_server(1)
        .operation_timeout(Duration::from_secs(3))
        .dead_after_failures(u32::MAX)
        .tls(TlsConfig::from_ca_pem(ca.pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    c.set("k", "v", StoreOptions::default()).await.unwrap();
    common::pause(pid);
    // A noreply set completes once written and flushed: the first one that
    // does not is stuck in the TLS flush, the socket being full.
    let chunk = vec![b'x'; 16 * 1024];
    let noreply = StoreOptions::default().noreply();
    let mut n = 0;
    loop {
        let set = c.set(format!("fill{n}"), &chunk, noreply);
        if tokio::time::timeout(Duration::from_millis(100), set)
            .await
            .is_err()
        {
            break;
        }
        n += 1;
        assert!(n < 100_000, "the socket never filled");
    }
    let get = tokio::spawn({
        let c = c.clone();
        async move { c.get("k").await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    common::resume(pid);
    let started = std::time::Instant::now();
    let got = tokio::time::timeout(Duration::from_secs(10), get)
        .await
        .expect("the get hung")
        .unwrap();
    assert_eq!(&got.unwrap().unwrap().value[..], b"v");
    // Sent as soon as the flush completed, not when the 3 s timer of an
    // earlier request happened to wake the driver.
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
}
