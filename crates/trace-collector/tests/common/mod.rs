//! Shared helpers for the integration tests: a blocking HTTP client that
//! reports 4xx/5xx as data, sample Zipkin spans, and scratch directories.
#![allow(dead_code)]

pub mod chromium;
pub mod otel_http;
pub mod webdriver;
pub mod zipkin_schema;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// A response reduced to what the tests look at.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

fn reply(mut response: ureq::http::Response<ureq::Body>) -> Reply {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response
        .body_mut()
        .with_config()
        .limit(1024 * 1024 * 1024)
        .read_to_vec()
        .expect("read body");
    Reply {
        status,
        content_type,
        body,
    }
}

/// POSTs `body` with the given headers.
pub fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut request = agent().post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    reply(request.send(body).expect("POST"))
}

/// POSTs Zipkin JSON to the collector at `base`.
pub fn post_zipkin(base: &str, spans: &Value) -> Reply {
    post(
        &format!("{base}/api/v2/spans"),
        &[("content-type", "application/json")],
        &serde_json::to_vec(spans).expect("encode"),
    )
}

/// GETs `base` + `path_and_query`.
pub fn get(base: &str, path_and_query: &str) -> Reply {
    reply(
        agent()
            .get(format!("{base}{path_and_query}"))
            .call()
            .expect("GET"),
    )
}

/// Microseconds since the epoch, `seconds_ago` seconds back.
pub fn micros_ago(seconds_ago: u64) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_micros() as u64;
    now - seconds_ago * 1_000_000
}

/// A three-span trace as Zipkin v2 JSON: root -> (get, set), `set` failing.
pub fn sample_trace(trace_id: &str, service: &str, root_name: &str, start_us: u64) -> Value {
    json!([
        {
            "traceId": trace_id, "id": "a000000000000001", "kind": "SERVER", "name": root_name,
            "timestamp": start_us, "duration": 5_000,
            "localEndpoint": {"serviceName": service, "ipv4": "127.0.0.1"},
            "tags": {"http.method": "GET"}
        },
        {
            "traceId": trace_id, "parentId": "a000000000000001", "id": "a000000000000002",
            "kind": "CLIENT", "name": "memcache.get", "timestamp": start_us + 100, "duration": 800,
            "localEndpoint": {"serviceName": service},
            "remoteEndpoint": {"serviceName": "memcached", "ipv4": "127.0.0.1", "port": 11211},
            "tags": {"db.system": "memcached", "memcache.key": "sqrt:42"}
        },
        {
            "traceId": trace_id, "parentId": "a000000000000001", "id": "a000000000000003",
            "kind": "CLIENT", "name": "memcache.set", "timestamp": start_us + 1_000, "duration": 600,
            "localEndpoint": {"serviceName": service},
            "annotations": [{"timestamp": start_us + 1_100, "value": "sent"}],
            "tags": {"db.system": "memcached", "error": "connection reset"}
        }
    ])
}

/// A fresh scratch directory under the system temp dir.
pub fn scratch_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "trace-collector-test-{}-{name}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Span names in a `/api/v2/trace/{id}` answer.
pub fn names(trace: &Value) -> Vec<String> {
    trace
        .as_array()
        .expect("array of spans")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or("").to_owned())
        .collect()
}
