//! A small W3C WebDriver client over `chromedriver` driving headless
//! Chromium, for viewer tests that click, type and upload. Every wait polls
//! a condition in the page under a deadline; nothing sleeps a fixed time.
//!
//! Chromium is found at `$CHROMIUM` or `/usr/bin/chromium` and chromedriver
//! at `$CHROMEDRIVER` or `/usr/bin/chromedriver` (Debian packages `chromium`
//! and `chromium-driver`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use super::scratch_dir;

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn program(variable: &str, default: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.exists(),
        "the viewer tests need {} but it does not exist; install the Debian package `{package}` \
         or set {variable}=/path/to/it",
        path.display()
    );
    path
}

/// The headless Chromium binary.
pub fn chromium() -> PathBuf {
    program("CHROMIUM", "/usr/bin/chromium", "chromium")
}

fn chromedriver() -> PathBuf {
    program("CHROMEDRIVER", "/usr/bin/chromedriver", "chromium-driver")
}

/// One browser session; the browser and driver end when it is dropped.
pub struct Browser {
    driver: Child,
    agent: ureq::Agent,
    session: String,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium window of 1400×1000.
    pub fn start() -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let driver = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let profile = scratch_dir("webdriver-profile");
        let mut browser = Browser {
            driver,
            agent,
            session: format!("http://127.0.0.1:{port}"),
            profile,
        };
        // The driver listens shortly after it starts.
        let deadline = Instant::now() + WAIT;
        while browser.call("GET", "/status", None).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--hide-scrollbars", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                         format!("--user-data-dir={}", browser.profile.display())]
            }
        }}});
        let created = browser
            .call("POST", "/session", Some(capabilities))
            .expect("new session");
        let id = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {created}"))
            .to_owned();
        browser.session = format!("{}/session/{id}", browser.session);
        browser
    }

    /// One WebDriver command; `Err` carries the driver's error answer.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.session);
        let response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(serde_json::to_vec(&body.unwrap_or(json!({}))).expect("encode")),
        };
        let mut response = response.map_err(|e| e.to_string())?;
        let ok = response.status().is_success();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| e.to_string())?;
        let value: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        if ok {
            Ok(value.get("value").cloned().unwrap_or(value))
        } else {
            Err(value.to_string())
        }
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path} failed: {e}"))
    }

    /// Loads `url`.
    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({"url": url})));
    }

    /// Runs `script` (a function body; `return` a value) with `args`.
    pub fn eval_with(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Runs `script` (a function body; `return` a value).
    pub fn eval(&self, script: &str) -> Value {
        self.eval_with(script, json!([]))
    }

    /// Polls the expression `condition` until it is truthy and returns its
    /// value; fails after [`WAIT`] saying what was awaited.
    pub fn wait_for(&self, condition: &str, what: &str) -> Value {
        let script = format!("return ({condition});");
        let deadline = Instant::now() + WAIT;
        loop {
            // The page may be between documents; that is not yet a failure.
            if let Ok(value) = self.call(
                "POST",
                "/execute/sync",
                Some(json!({"script": script, "args": []})),
            ) {
                let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                    && value != json!(0)
                    && value != json!("");
                if truthy {
                    return value;
                }
            }
            if Instant::now() > deadline {
                let state = self.eval("return document.body ? document.body.dataset : null;");
                panic!("timed out waiting for {what} ({condition}); page state {state}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the viewer shows `view` and finished rendering it.
    pub fn wait_ready(&self, view: &str) {
        self.wait_for(
            &format!(
                "document.body.dataset.view === '{view}' && document.body.dataset.ready === 'true'"
            ),
            &format!("the {view} view"),
        );
    }

    fn element(&self, css: &str) -> String {
        self.wait_for(
            &format!("document.querySelector({})", json!(css)),
            &format!("element {css}"),
        );
        let found = self.command(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element reference in {found}"))
            .to_owned()
    }

    /// Clicks the first element matching `css` (waiting for it to exist).
    pub fn click(&self, css: &str) {
        let id = self.element(css);
        self.command("POST", &format!("/element/{id}/click"), None);
    }

    /// Types `text` into the element matching `css` (a file input takes a path).
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.command(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        );
    }

    /// Saves a PNG of the window.
    pub fn screenshot(&self, path: &Path) {
        let data = self.command("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("base64 screenshot"))
            .expect("decode screenshot");
        std::fs::write(path, png).expect("write screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call("DELETE", "", None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
