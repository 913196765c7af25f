//! Transports other than IPv4 TCP: IPv6 literals and Unix domain sockets,
//! each against a real memcached.

mod common;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

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

/// A memcached listening only on a Unix socket; killed on drop.
struct UnixMemcached {
    child: Child,
    path: PathBuf,
}

impl UnixMemcached {
    fn start() -> UnixMemcached {
        let path = std::env::temp_dir().join(format!(
            "mcc-{}-{}.sock",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        ));
        let child = memcached_harness::memcached_command()
            .unwrap()
            .arg("-s")
            .arg(&path)
            .args(["-U", "0"])
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !Path::new(&path).exists() {
            assert!(
                Instant::now() < deadline,
                "memcached did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        UnixMemcached { child, path }
    }
}

impl Drop for UnixMemcached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.path);
    }
}

#[tokio::test]
async fn unix_socket_server() {
    let server = UnixMemcached::start();
    let c = common::builder()
        .server_addr(ServerAddr::unix(&server.path))
        .build()
        .unwrap();
    // Wait (bounded) for the listener to accept.
    let mut ok = false;
    for _ in 0..50 {
        if c.version().await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "unix socket server not answering");
    c.set("unix", "yes", StoreOptions::default()).await.unwrap();
    assert_eq!(&c.get("unix").await.unwrap().unwrap().value[..], b"yes");
    let path = server.path.display().to_string();
    assert_eq!(Client::connect(&path).unwrap().server_labels(), vec![path]);
}
