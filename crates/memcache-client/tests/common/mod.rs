//! Shared test helpers: clients for the shared server and unique key
//! prefixes (tests run in parallel against one memcached).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use memcache_client::{Client, ClientBuilder, ConnectionMode};
use memcached_harness::Memcached;

/// An own memcached. (Parallel starts are safe: the harness never hands
/// out one port twice in a process.)
pub fn start_server(args: &[&str]) -> Memcached {
    Memcached::start_with_args(args).unwrap()
}

pub use memcached_harness::shared_addr;

/// `n` own memcached servers.
pub fn start_servers(n: usize) -> Vec<Memcached> {
    (0..n).map(|_| start_server(&[])).collect()
}

/// The connection mode under test: `MCC_TEST_CONNECTION_MODE=multiplexed`
/// runs the suite on multiplexed connections (`cargo xtask test` runs it
/// both ways), anything else on the default exclusive ones.
pub fn mode() -> ConnectionMode {
    match std::env::var("MCC_TEST_CONNECTION_MODE").as_deref() {
        Ok("multiplexed") => ConnectionMode::Multiplexed,
        _ => ConnectionMode::Exclusive,
    }
}

/// Whether the suite runs on multiplexed connections.
pub fn multiplexed() -> bool {
    mode() == ConnectionMode::Multiplexed
}

/// A client builder in the connection mode under test.
pub fn builder() -> ClientBuilder {
    Client::builder().connection_mode(mode())
}

/// A client of `server` alone, with default settings.
pub fn client_for(server: &Memcached) -> Client {
    builder().server_addr(server.addr()).build().unwrap()
}

/// A loopback address where nothing listens: a port the harness reserved
/// and no server of this process will take (a port merely bound and
/// released could be handed to a server started in parallel).
pub fn dead_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], memcached_harness::free_port().unwrap()))
}

/// A prefix no other test (or test run) uses.
pub fn prefix(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("mcc:{test}:{}:{nanos}:{n}:", std::process::id())
}

/// A client for the shared memcached.
pub fn shared_client() -> Client {
    builder()
        .server_addr(shared_addr())
        .operation_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn signal(pid: u32, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Whether every thread of the process is stopped (state `T`).
fn all_threads_stopped(pid: u32) -> bool {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks.flatten().all(|task| {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // The state follows the parenthesised command name.
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('T'))
    })
}

/// Stops the server and waits until it really is stopped: SIGSTOP reaches
/// each thread asynchronously.
pub fn pause(pid: u32) {
    signal(pid, "-STOP");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !all_threads_stopped(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "memcached did not stop"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

pub fn resume(pid: u32) {
    signal(pid, "-CONT");
}

#[cfg(unix)]
/// A memcached listening only on a Unix socket; killed on drop.
pub struct UnixMemcached {
    child: std::process::Child,
    pub path: std::path::PathBuf,
}

#[cfg(unix)]
impl UnixMemcached {
    pub fn start() -> UnixMemcached {
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
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !path.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "memcached did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        UnixMemcached { child, path }
    }
}

#[cfg(unix)]
impl Drop for UnixMemcached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Waits (bounded) until the client's server answers: a listener that
/// has just appeared may not accept yet.
pub async fn wait_answering(c: &Client) {
    for _ in 0..50 {
        if c.version().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("server not answering");
}
