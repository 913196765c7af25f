//! OTLP/HTTP export end to end: protobuf (decoded with opentelemetry-proto) and
//! JSON bodies POSTed to a local fake collector when shutdown flushes.

mod common;

use common::FakeCollector;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, Span};
use prost::Message;
use traced_telemetry::{EnvVars, ExporterConfig, OtlpProtocol, TelemetryGuard};
use tracing_subscriber::layer::SubscriberExt;

fn otlp_pipeline(endpoint: String, protocol: OtlpProtocol) -> TelemetryGuard {
    traced_telemetry::builder("otlp-test")
        .service_version("1.2.3")
        .resource_attribute("deployment.environment", "test")
        .env(EnvVars::default())
        .exporter(ExporterConfig::Otlp { endpoint, protocol })
        .build()
        .expect("build pipeline")
}

fn emit_spans(telemetry: &TelemetryGuard) {
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!("sqrt.request", number = "9999");
        let _in_request = request.enter();
        let get = tracing::info_span!(
            "memcache.get",
            otel.kind = "client",
            db.system = "memcached",
            key = "sqrt:9999"
        );
        get.in_scope(|| tracing::info!("cache miss"));
    });
}

fn string_attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| match &v.value {
            Some(any_value::Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
}

#[test]
fn shutdown_posts_all_spans_as_otlp_protobuf() {
    let collector = FakeCollector::start();
    let telemetry = otlp_pipeline(collector.url("/v1/traces"), OtlpProtocol::HttpProtobuf);
    emit_spans(&telemetry);

    let report = telemetry.shutdown().expect("complete shutdown");
    assert_eq!(report.counts.exported, 2);
    assert!(report
        .to_string()
        .starts_with("Sent all 2 finished spans to otlp (http/protobuf)"));

    let requests = collector.received();
    assert!(!requests.is_empty());
    let mut spans: Vec<Span> = Vec::new();
    for req in &requests {
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/v1/traces");
        assert_eq!(req.content_type.as_deref(), Some("application/x-protobuf"));
        let decoded = ExportTraceServiceRequest::decode(req.body.as_slice()).expect("protobuf");
        for resource_spans in decoded.resource_spans {
            let resource = resource_spans.resource.expect("resource");
            let attrs = &resource.attributes;
            assert_eq!(
                string_attr(attrs, "service.name").as_deref(),
                Some("otlp-test")
            );
            assert_eq!(
                string_attr(attrs, "service.version").as_deref(),
                Some("1.2.3")
            );
            assert_eq!(
                string_attr(attrs, "telemetry.sdk.language").as_deref(),
                Some("rust")
            );
            assert_eq!(
                string_attr(attrs, "deployment.environment").as_deref(),
                Some("test")
            );
            for scope_spans in resource_spans.scope_spans {
                spans.extend(scope_spans.spans);
            }
        }
    }
    assert_eq!(spans.len(), 2);
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name}"))
    };
    let request = find("sqrt.request");
    let get = find("memcache.get");
    assert!(request.parent_span_id.is_empty());
    assert_eq!(get.parent_span_id, request.span_id);
    assert_eq!(get.trace_id, request.trace_id);
    assert_eq!(get.kind, SpanKind::Client as i32);
    assert_eq!(request.kind, SpanKind::Internal as i32);
    assert_eq!(
        string_attr(&get.attributes, "db.system").as_deref(),
        Some("memcached")
    );
    assert_eq!(
        string_attr(&get.attributes, "key").as_deref(),
        Some("sqrt:9999")
    );
    assert!(get.events.iter().any(|e| e.name.contains("cache miss")));
}

#[test]
fn shutdown_posts_all_spans_as_otlp_json() {
    let collector = FakeCollector::start();
    let telemetry = otlp_pipeline(collector.url("/v1/traces"), OtlpProtocol::HttpJson);
    emit_spans(&telemetry);

    let report = telemetry.shutdown().expect("complete shutdown");
    assert_eq!(report.counts.exported, 2);

    let requests = collector.received();
    assert!(!requests.is_empty());
    let mut names = Vec::new();
    for req in &requests {
        assert_eq!(req.content_type.as_deref(), Some("application/json"));
        let body: serde_json::Value = serde_json::from_slice(&req.body).expect("json");
        for rs in body["resourceSpans"].as_array().expect("resourceSpans") {
            for ss in rs["scopeSpans"].as_array().expect("scopeSpans") {
                for span in ss["spans"].as_array().expect("spans") {
                    names.push(span["name"].as_str().expect("name").to_owned());
                }
            }
        }
    }
    names.sort();
    assert_eq!(names, ["memcache.get", "sqrt.request"]);
}
