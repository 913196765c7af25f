//! The analysis routes over real HTTP: Zipkin's `autocompleteKeys`,
//! `autocompleteValues` and `dependencies` (answers checked against the
//! response schemas of `zipkin2-api.yaml`), and `/api/collector/operations`.

mod common;

use common::*;
use serde_json::{json, Value};
use trace_collector::Collector;

/// The subset of JSON Schema (Swagger 2.0) that zipkin2-api.yaml uses for
/// these responses: `type`, `items`, `required`, `properties` (and, stricter
/// than the spec asks, no property it does not name).
fn check_schema(value: &Value, schema: &Value, at: &str) {
    let ty = schema["type"].as_str().expect("schema type");
    let ok = match ty {
        "array" => value.is_array(),
        "object" => value.is_object(),
        "string" => value.is_string(),
        "integer" => value.is_u64() || value.is_i64(),
        other => panic!("schema type {other} not handled"),
    };
    assert!(ok, "{at}: expected {ty}, got {value}");
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check_schema(item, schema, &format!("{at}[{i}]"));
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().expect("required name");
            assert!(
                object.contains_key(name),
                "{at}: required {name} missing in {value}"
            );
        }
        if let Some(properties) = schema["properties"].as_object() {
            let extra = object.keys().find(|k| !properties.contains_key(*k));
            assert!(extra.is_none(), "{at}: property {extra:?} not in the spec");
        }
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            if let Some(v) = object.get(name) {
                check_schema(v, property, &format!("{at}.{name}"));
            }
        }
    }
}

/// `/autocompleteKeys` and `/autocompleteValues`: `type: array, items: string`.
fn list_of_strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

/// `/dependencies`: `ListOfDependencyLinks` of `DependencyLink`.
fn list_of_dependency_links() -> Value {
    json!({"type": "array", "items": {
        "type": "object",
        "required": ["parent", "child", "callCount"],
        "properties": {
            "parent": {"type": "string"},
            "child": {"type": "string"},
            "callCount": {"type": "integer"},
            "errorCount": {"type": "integer"}
        }
    }})
}

const TRACE_A: &str = "000000000000000000000000000000a1";
const TRACE_B: &str = "000000000000000000000000000000b2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_values_of_configured_keys_only() {
    let collector = Collector::builder()
        .autocomplete_keys(["db.system", "http.method"])
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let base = collector.base_url();
    assert_eq!(
        post_zipkin(&base, &sample_trace(TRACE_A, "app", "root", micros_ago(5))).status,
        202
    );

    let keys = get(&base, "/api/v2/autocompleteKeys");
    assert_eq!(keys.status, 200);
    assert!(keys.content_type.starts_with("application/json"));
    check_schema(&keys.json(), &list_of_strings(), "autocompleteKeys");
    assert_eq!(keys.json(), json!(["db.system", "http.method"]));

    let values = get(&base, "/api/v2/autocompleteValues?key=db.system");
    check_schema(&values.json(), &list_of_strings(), "autocompleteValues");
    assert_eq!(values.json(), json!(["memcached"]));
    assert_eq!(
        get(&base, "/api/v2/autocompleteValues?key=http.method").json(),
        json!(["GET"])
    );
    // A key that is held but not configured, and an unknown key: empty, per the spec.
    assert_eq!(
        get(&base, "/api/v2/autocompleteValues?key=memcache.key").json(),
        json!([])
    );
    assert_eq!(
        get(&base, "/api/v2/autocompleteValues?key=nope").json(),
        json!([])
    );
    let missing = get(&base, "/api/v2/autocompleteValues");
    assert_eq!(missing.status, 400, "key is required");
    assert!(missing.text().contains("key"), "{}", missing.text());
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependencies_link_services_with_call_and_error_counts() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    // Two sample traces: app -> memcached twice each, the set failing.
    let old = micros_ago(3_600);
    let recent = micros_ago(5);
    for (trace, start) in [(TRACE_A, old), (TRACE_B, recent)] {
        let mut spans = sample_trace(trace, "app", "root", start);
        spans[2]["remoteEndpoint"] = json!({"serviceName": "memcached"});
        assert_eq!(post_zipkin(&base, &spans).status, 202);
    }
    // An RPC from web into app, both halves instrumented (OpenTelemetry style).
    let rpc = json!([
        {"traceId": TRACE_B, "id": "b000000000000001", "kind": "CLIENT", "name": "call app",
         "timestamp": recent, "duration": 9_000, "localEndpoint": {"serviceName": "web"}},
        {"traceId": TRACE_B, "parentId": "b000000000000001", "id": "a000000000000001", "kind": "SERVER",
         "name": "root", "timestamp": recent, "duration": 5_000, "localEndpoint": {"serviceName": "app"}}
    ]);
    assert_eq!(post_zipkin(&base, &rpc).status, 202);

    let end = recent / 1000 + 1_000;
    let all = get(&base, &format!("/api/v2/dependencies?endTs={end}"));
    assert_eq!(all.status, 200, "{}", all.text());
    assert!(all.content_type.starts_with("application/json"));
    check_schema(&all.json(), &list_of_dependency_links(), "dependencies");
    assert_eq!(
        all.json(),
        json!([
            {"parent": "app", "child": "memcached", "callCount": 4, "errorCount": 2},
            {"parent": "web", "child": "app", "callCount": 1, "errorCount": 0}
        ])
    );
    // The last minute holds only the recent trace.
    let recent_only = get(
        &base,
        &format!("/api/v2/dependencies?endTs={end}&lookback=60000"),
    )
    .json();
    assert_eq!(recent_only[0]["callCount"], 2);
    // Before anything happened: no links.
    let before = get(
        &base,
        &format!("/api/v2/dependencies?endTs={}", old / 1000 - 1),
    );
    assert_eq!(before.json(), json!([]));

    assert_eq!(
        get(&base, "/api/v2/dependencies").status,
        400,
        "endTs is required"
    );
    assert_eq!(get(&base, "/api/v2/dependencies?endTs=soon").status, 400);
    assert_eq!(
        get(
            &base,
            &format!("/api/v2/dependencies?endTs={end}&lookback=-1")
        )
        .status,
        400
    );
    collector.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_report_counts_errors_and_percentiles() {
    let collector = Collector::builder().bind("127.0.0.1:0").await.unwrap();
    let base = collector.base_url();
    let start = micros_ago(5);
    // 20 traces: memcache.get takes 100, 200, ... 2000 µs; every fifth set fails.
    for n in 1..=20u64 {
        let mut trace = sample_trace(&format!("{n:032x}"), "app", "root", start + n);
        trace[1]["duration"] = json!(n * 100);
        if n % 5 != 0 {
            trace[2]["tags"].as_object_mut().unwrap().remove("error");
        }
        assert_eq!(post_zipkin(&base, &trace).status, 202);
    }
    let ops = get(&base, "/api/collector/operations?serviceName=app");
    assert_eq!(ops.status, 200, "{}", ops.text());
    let ops = ops.json();
    let names: Vec<&str> = ops
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["spanName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["memcache.get", "memcache.set", "root"]);
    let get_op = &ops[0];
    assert_eq!(get_op["serviceName"], "app");
    assert_eq!(
        (get_op["count"].as_u64(), get_op["errorCount"].as_u64()),
        (Some(20), Some(0))
    );
    // Nearest rank over 100..=2000 step 100.
    assert_eq!(
        (
            get_op["p50"].as_u64(),
            get_op["p95"].as_u64(),
            get_op["p99"].as_u64()
        ),
        (Some(1000), Some(1900), Some(2000))
    );
    let histogram_total: u64 = get_op["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(histogram_total, 20);
    assert_eq!(ops[1]["errorCount"], 4);
    assert_eq!(
        get(&base, "/api/collector/operations?serviceName=nobody").json(),
        json!([])
    );
    assert_eq!(get(&base, "/api/collector/operations?endTs=x").status, 400);
    collector.shutdown().await.unwrap();
}
