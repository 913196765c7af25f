//! Transports other than IPv4 TCP: IPv6 literals and Unix domain sockets,
//! each against a real memcached.

mod common;

use memcache_client::{Client, ServerAddr, StoreOptions};

#[tokio::test]
async fn ipv6_literal_address() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this machine; nothing to test");
        return;
    }
    // memcached joins repeated -l options: it listens on 127.0.0.1 and ::1.
    let server = common::start_server(&["-l", "::1"]);
    let addr = format!("[::1]:{}", server.addr().port());
    let c = Client::connect(&addr).unwrap();
    assert_eq!(c.server_labels(), vec![addr.clone()]);
    c.set("v6", "yes", StoreOptions::default()).await.unwrap();
    assert_eq!(&c.get("v6").await.unwrap().unwrap().value[..], b"yes");
}

#[cfg(unix)]
#[tokio::test]
async fn unix_socket_server() {
    let server = common::UnixMemcached::start();
    let c = common::builder()
        .server_addr(ServerAddr::unix(&server.path))
        .build()
        .unwrap();
    common::wait_answering(&c).await;
    c.set("unix", "yes", StoreOptions::default()).await.unwrap();
    assert_eq!(&c.get("unix").await.unwrap().unwrap().value[..], b"yes");
    let path = server.path.display().to_string();
    assert_eq!(Client::connect(&path).unwrap().server_labels(), vec![path]);
}
