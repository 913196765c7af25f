//! TLS URLs (`memcaches://`) against a real memcached started with `-Z`:
//! a CA file from the URL verifies the server; without one the platform's
//! roots are used, which do not know the test CA, so the handshake is
//! refused with a typed TLS error.

#![cfg(feature = "tls")]

mod common;
mod pki;

use std::time::Duration;

use memcache_client::{Client, ClientConfig, Error, StoreOptions, TlsConfig, UrlError};
use pki::Ca;

fn tls_server(ca: &Ca, extra: &[&str]) -> memcached_harness::Memcached {
    let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
    let option = leaf.memcached_option();
    let mut args = vec!["-Z", "-o", &option];
    args.extend_from_slice(extra);
    common::start_server(&args)
}

#[tokio::test]
async fn a_ca_file_from_the_url_verifies_the_server() {
    let ca = Ca::new("url test CA");
    let server = tls_server(&ca, &[]);
    let url = format!(
        "memcaches://{}?ca_path={}&timeout=5s&server_name=localhost",
        server.addr(),
        ca.file().display()
    );
    let client = Client::connect(&url).unwrap();
    client
        .set("over-tls", "from a url", StoreOptions::default())
        .await
        .unwrap();
    let item = client.get("over-tls").await.unwrap().unwrap();
    assert_eq!(&item.value[..], b"from a url");
    // The memcache crate's scheme name works the same.
    let compat = url.replacen("memcaches://", "memcache+tls://", 1);
    assert!(Client::connect(&compat)
        .unwrap()
        .get("over-tls")
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_client_certificate_from_the_url() {
    let ca = Ca::new("url mTLS CA");
    let client_leaf = ca.leaf(&["client.internal"]);
    // ssl_verify_mode=2: the server requires a certificate from our CA.
    let require = format!("ssl_verify_mode=2,ssl_ca_cert={}", ca.file().display());
    let server = tls_server(&ca, &["-o", &require]);
    let base = format!(
        "memcaches://{}?ca_path={}&connect_timeout=2s&timeout=2s",
        server.addr(),
        ca.file().display()
    );
    let with_identity = format!(
        "{base}&cert_path={}&key_path={}",
        client_leaf.cert_file.display(),
        client_leaf.key_file.display()
    );
    let client = Client::connect(&with_identity).unwrap();
    client
        .set("mtls", "yes", StoreOptions::default())
        .await
        .unwrap();
    assert!(client.get("mtls").await.unwrap().is_some());
    // Without the certificate the server hangs up during or right after
    // the handshake: an error, never a hang.
    let anonymous = Client::connect(&base).unwrap();
    let refused = tokio::time::timeout(Duration::from_secs(10), anonymous.get("mtls"))
        .await
        .expect("no hang");
    assert!(refused.is_err(), "{refused:?}");
}

#[tokio::test]
async fn without_a_ca_file_the_platform_roots_refuse_a_private_ca() {
    let ca = Ca::new("private CA");
    let server = tls_server(&ca, &[]);
    let url = format!(
        "memcaches://{}?connect_timeout=2s&timeout=2s",
        server.addr()
    );
    let client = Client::connect(&url).unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), client.get("k"))
        .await
        .expect("no hang")
        .expect_err("an unknown CA must be refused");
    assert!(matches!(err, Error::Tls(_)), "{err:?}");
}

#[test]
fn the_platform_roots_load() {
    // The machine has a CA bundle (ca-certificates); a config from it is
    // usable for a client.
    let tls = TlsConfig::native_roots().unwrap();
    let client = Client::builder()
        .server("cache.example.com")
        .tls(tls)
        .build();
    assert!(client.is_ok());
}

/// The TLS parameter a URL's refusal names.
fn tls_refusal(url: &str) -> &'static str {
    match ClientConfig::from_url(url) {
        Err(UrlError::Tls { name, .. }) => name,
        other => panic!("{url}: {other:?}"),
    }
}

#[test]
fn tls_parameters_are_checked() {
    assert_eq!(
        tls_refusal("memcaches://h?ca_path=/nonexistent/ca.pem"),
        "ca_path"
    );
    assert_eq!(tls_refusal("memcaches://h?cert_path=/c.pem"), "cert_path");
    let not_pem = std::env::temp_dir().join(format!("mcc-not-pem-{}", std::process::id()));
    std::fs::write(&not_pem, "not a certificate").unwrap();
    let refused = tls_refusal(&format!("memcaches://h?ca_path={}", not_pem.display()));
    let _ = std::fs::remove_file(&not_pem);
    assert_eq!(refused, "ca_path");
    for url in ["memcaches://h?verify_mode=none", "memcaches:///tmp/x.sock"] {
        let err = ClientConfig::from_url(url).unwrap_err();
        assert!(matches!(err, UrlError::Unsupported(_)), "{url}: {err:?}");
    }
    assert!(ClientConfig::from_url("memcaches://h?verify_mode=peer")
        .unwrap()
        .tls
        .is_some());
}
