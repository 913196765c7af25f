//! Test support: real memcached processes on free loopback ports.
//!
//! Integration tests across the workspace talk to a real memcached, never a
//! mock. [`shared_addr`] gives the server that `cargo xtask test` started
//! (passed in `MEMCACHED_ADDR`), or starts one for this test process when the
//! variable is unset. Tests that need servers of their own (several servers,
//! a server to kill and restart, special options) use [`Memcached::start`].
//! Every process started here is killed when its handle drops.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A memcached process owned by the test; killed on drop.
pub struct Memcached {
    child: Option<Child>,
    addr: SocketAddr,
    args: Vec<String>,
}

impl Memcached {
    /// Starts `memcached` on a free loopback port with default options.
    pub fn start() -> io::Result<Memcached> {
        Self::start_with_args(&[])
    }

    /// Starts `memcached` on a free loopback port with extra arguments
    /// (for example `["-m", "16"]` or `["-I", "2m"]`).
    pub fn start_with_args(extra: &[&str]) -> io::Result<Memcached> {
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let args = extra.iter().map(|s| s.to_string()).collect();
        let mut server = Memcached {
            child: None,
            addr,
            args,
        };
        server.spawn()?;
        Ok(server)
    }

    /// The server's address (always on 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process id while running (to pin it to a CPU, send it signals).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the process and waits for it to exit; the port is kept for
    /// [`Memcached::restart`].
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills (if running) and starts the server again on the same port.
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        self.spawn()
    }

    /// Whether the process is currently running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    fn spawn(&mut self) -> io::Result<()> {
        let port = self.addr.port().to_string();
        // A port freed a moment ago may still be held briefly; retry a few times.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut cmd = memcached_command()?;
            cmd.args(["-l", "127.0.0.1", "-p", &port, "-U", "0", "-t", "2"])
                .args(&self.args);
            let mut child = cmd.spawn()?;
            if wait_listening(self.addr, &mut child, Duration::from_secs(5))
                && still_running(&mut child)
            {
                self.child = Some(child);
                return Ok(());
            }
            let _ = child.kill();
            let _ = child.wait();
            if Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "memcached did not start listening on {}",
                    self.addr
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Memcached {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The address of a memcached shared by the tests of this process: the one
/// named by `MEMCACHED_ADDR`, or one started on first use and kept until the
/// test process exits.
///
/// # Panics
/// When no server is configured and none can be started: a test that needs a
/// server must fail loudly rather than pass without one.
pub fn shared_addr() -> SocketAddr {
    static SHARED: OnceLock<SocketAddr> = OnceLock::new();
    *SHARED.get_or_init(|| {
        if let Ok(text) = std::env::var("MEMCACHED_ADDR") {
            return text
                .parse()
                .unwrap_or_else(|e| panic!("MEMCACHED_ADDR={text:?} is not host:port: {e}"));
        }
        // The parent-death signal fires when the spawning *thread* exits, so
        // the shared server is started from a thread that never ends.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || match Memcached::start() {
            Ok(server) => {
                let _ = tx.send(Ok(server.addr()));
                loop {
                    std::thread::park();
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        });
        match rx.recv() {
            Ok(Ok(addr)) => addr,
            Ok(Err(e)) => panic!("no MEMCACHED_ADDR and memcached could not be started: {e}"),
            Err(e) => panic!("memcached starter thread failed: {e}"),
        }
    })
}

/// Picks a loopback port that is free right now and that this process has
/// not handed out before, so two servers started by parallel tests can never
/// be given the same port (the kernel may offer a just-released port again).
pub fn free_port() -> io::Result<u16> {
    static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..100 {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return Ok(port);
        }
    }
    Err(io::Error::other("no unused loopback port found"))
}

/// A memcached that lost the race for its port exits at once; a moment's
/// wait tells it apart from one that is really serving the port.
fn still_running(child: &mut Child) -> bool {
    std::thread::sleep(Duration::from_millis(30));
    matches!(child.try_wait(), Ok(None))
}

/// A `memcached` command with no listening options yet: the binary of
/// [`memcached_binary`], null stdio, `-u root` when running as root
/// (memcached refuses root otherwise), and killed when its parent dies.
pub fn memcached_command() -> io::Result<Command> {
    let mut cmd = Command::new(memcached_binary()?);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    die_with_parent(&mut cmd);
    if is_root() {
        cmd.args(["-u", "root"]);
    }
    Ok(cmd)
}

/// Makes the process `cmd` starts receive SIGKILL when its parent dies, so
/// no server outlives the test or task that started it, even when that is
/// killed.
#[allow(unsafe_code)]
pub fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork
    // and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Waits up to `limit` until `addr` accepts connections; `false` if it did
/// not, or if `child` exited first.
pub fn wait_listening(addr: SocketAddr, child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Finds the memcached binary: `MEMCACHED_BIN`, then `PATH`, then
/// `/usr/bin/memcached`.
pub fn memcached_binary() -> io::Result<PathBuf> {
    if let Ok(bin) = std::env::var("MEMCACHED_BIN") {
        return Ok(PathBuf::from(bin));
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("memcached");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let fallback = PathBuf::from("/usr/bin/memcached");
    if fallback.is_file() {
        return Ok(fallback);
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        "memcached not found: install the `memcached` package (cargo xtask test does it on Debian)",
    ))
}

/// Whether this process runs as root (effective user id 0).
#[allow(unsafe_code)]
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn version(addr: SocketAddr) -> io::Result<String> {
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"version\r\n")?;
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    #[test]
    fn starts_kills_and_restarts_on_the_same_port() {
        let mut server = Memcached::start().expect("start memcached");
        assert!(version(server.addr())
            .expect("talk")
            .starts_with("VERSION "));
        server.kill();
        assert!(!server.is_running());
        assert!(version(server.addr()).is_err());
        server.restart().expect("restart");
        assert!(version(server.addr())
            .expect("talk")
            .starts_with("VERSION "));
    }

    #[test]
    fn shared_server_answers() {
        assert!(version(shared_addr())
            .expect("talk")
            .starts_with("VERSION "));
    }
}
