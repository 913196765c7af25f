//! Headless Chromium for tests: the DOM of a page after its scripts ran.
//!
//! Chromium is found at `$CHROMIUM` or `/usr/bin/chromium` (Debian package
//! `chromium`); without it the tests using this fail saying so.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one page may take, virtual time budget included.
const PAGE_DEADLINE: Duration = Duration::from_secs(90);

fn binary() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "headless Chromium is required but {} does not exist; install the Debian \
         package `chromium` or set CHROMIUM=/path/to/chromium",
        path.display()
    );
    path
}

/// Loads `url` and returns the DOM once the page's scripts and fetches are
/// done (up to 5 s of virtual time).
pub fn dom_after_scripts(url: &str) -> String {
    let profile = super::scratch_dir("chromium");
    let mut child = Command::new(binary())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ])
        .args([
            "--no-first-run",
            "--disable-background-networking",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("stdout");
    // A separate reader, so a full pipe cannot stall the browser.
    let reader = std::thread::spawn(move || {
        let mut dom = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut dom).map(|_| dom)
    });
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > PAGE_DEADLINE {
            let _ = child.kill();
            panic!("chromium did not finish {url} within {PAGE_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_dir_all(profile);
    reader.join().expect("reader").expect("read DOM")
}
