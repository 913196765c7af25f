//! Headless Chromium for tests: the DOM of a page after its scripts ran.
//!
//! Chromium is found as [`super::webdriver::chromium`] finds it (`$CHROMIUM`
//! or `/usr/bin/chromium`); without it the tests using this fail saying so.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one page may take, virtual time budget included.
const PAGE_DEADLINE: Duration = Duration::from_secs(90);

/// Loads `url` and returns the DOM once the page's scripts and fetches are
/// done (up to 5 s of virtual time).
pub fn dom_after_scripts(url: &str) -> String {
    let profile = super::scratch_dir("chromium");
    let mut child = Command::new(super::webdriver::chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
            "--window-size=1400,900",
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
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if started.elapsed() > PAGE_DEADLINE {
            let _ = child.kill();
            panic!("chromium did not finish {url} within {PAGE_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_dir_all(profile);
    reader.join().expect("reader").expect("read DOM")
}
