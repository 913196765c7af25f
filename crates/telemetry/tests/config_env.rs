//! Configuration from environment maps (never the shared process environment):
//! exporter selection, endpoints, sampler parsing, precedence, typed errors.

use std::time::Duration;
use traced_telemetry::{
    ConfigError, EnvVars, ExporterConfig, OtlpProtocol, SamplerConfig, TelemetryConfig,
};

fn resolve(pairs: &[(&str, &str)]) -> Result<TelemetryConfig, ConfigError> {
    traced_telemetry::builder("default-svc")
        .env(EnvVars::from_pairs(pairs.iter().copied()))
        .resolve()
}

fn ok(pairs: &[(&str, &str)]) -> TelemetryConfig {
    resolve(pairs).expect("valid configuration")
}

fn err_variable(pairs: &[(&str, &str)]) -> String {
    resolve(pairs)
        .expect_err("invalid configuration")
        .variable()
        .to_owned()
}

#[test]
fn empty_environment_gives_zipkin_always_on_defaults() {
    let config = ok(&[]);
    assert_eq!(config.service_name, "default-svc");
    assert_eq!(
        config.exporter,
        ExporterConfig::Zipkin {
            endpoint: "http://localhost:9411/api/v2/spans".into()
        }
    );
    assert_eq!(config.sampler, SamplerConfig::AlwaysOn);
    assert_eq!(config.log_filter, None);
    assert_eq!(config.export_timeout, Duration::from_secs(10));
    assert_eq!(config.shutdown_timeout, Duration::from_secs(20));
}

#[test]
fn blank_values_count_as_unset() {
    let config = ok(&[("OTEL_TRACES_EXPORTER", "  "), ("OTEL_SERVICE_NAME", "")]);
    assert_eq!(config.exporter, ExporterConfig::zipkin_default());
    assert_eq!(config.service_name, "default-svc");
}

#[test]
fn exporter_selection_by_name() {
    assert_eq!(
        ok(&[("OTEL_TRACES_EXPORTER", "zipkin")]).exporter.kind(),
        "zipkin"
    );
    assert_eq!(
        ok(&[("OTEL_TRACES_EXPORTER", "OTLP")]).exporter.kind(),
        "otlp"
    );
    assert_eq!(
        ok(&[("OTEL_TRACES_EXPORTER", "none")]).exporter,
        ExporterConfig::None
    );
    for bad in ["jaeger", "console", "otlp,zipkin"] {
        let error = resolve(&[("OTEL_TRACES_EXPORTER", bad)]).expect_err(bad);
        assert!(matches!(error, ConfigError::Unsupported { .. }), "{error}");
        assert_eq!(error.variable(), "OTEL_TRACES_EXPORTER");
        assert!(error.to_string().contains("OTEL_TRACES_EXPORTER"));
    }
}

#[test]
fn zipkin_endpoint_from_env() {
    let config = ok(&[
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        (
            "OTEL_EXPORTER_ZIPKIN_ENDPOINT",
            "http://collector:9411/api/v2/spans",
        ),
        ("OTEL_EXPORTER_ZIPKIN_TIMEOUT", "2500"),
    ]);
    assert_eq!(
        config.exporter,
        ExporterConfig::Zipkin {
            endpoint: "http://collector:9411/api/v2/spans".into()
        }
    );
    assert_eq!(config.export_timeout, Duration::from_millis(2500));
}

#[test]
fn otlp_endpoints_follow_the_specification() {
    let default = ok(&[("OTEL_TRACES_EXPORTER", "otlp")]);
    assert_eq!(
        default.exporter,
        ExporterConfig::Otlp {
            endpoint: "http://localhost:4318/v1/traces".into(),
            protocol: OtlpProtocol::HttpProtobuf,
        }
    );
    let base = ok(&[
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318/"),
    ]);
    assert_eq!(
        base.exporter,
        ExporterConfig::Otlp {
            endpoint: "http://otel:4318/v1/traces".into(),
            protocol: OtlpProtocol::HttpProtobuf,
        }
    );
    let signal = ok(&[
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://otel:4318/custom",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "3000"),
    ]);
    assert_eq!(
        signal.exporter,
        ExporterConfig::Otlp {
            endpoint: "http://otel:4318/custom".into(),
            protocol: OtlpProtocol::HttpJson,
        }
    );
    assert_eq!(signal.export_timeout, Duration::from_secs(3));
}

#[test]
fn invalid_exporter_values_name_their_variable() {
    let otlp = ("OTEL_TRACES_EXPORTER", "otlp");
    assert_eq!(
        err_variable(&[otlp, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]),
        "OTEL_EXPORTER_OTLP_PROTOCOL"
    );
    assert_eq!(
        err_variable(&[otlp, ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url")]),
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    );
    assert_eq!(
        err_variable(&[
            otlp,
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://x/v1/traces")
        ]),
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    );
    assert_eq!(
        err_variable(&[otlp, ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")]),
        "OTEL_EXPORTER_OTLP_TIMEOUT"
    );
    assert_eq!(
        err_variable(&[("OTEL_EXPORTER_ZIPKIN_ENDPOINT", "/api/v2/spans")]),
        "OTEL_EXPORTER_ZIPKIN_ENDPOINT"
    );
    assert_eq!(
        err_variable(&[("OTEL_EXPORTER_ZIPKIN_TIMEOUT", "-1")]),
        "OTEL_EXPORTER_ZIPKIN_TIMEOUT"
    );
}

#[test]
fn a_bad_variable_of_an_unused_exporter_is_ignored() {
    let config = ok(&[
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_ZIPKIN_ENDPOINT", "garbage"),
    ]);
    assert_eq!(config.exporter.kind(), "otlp");
}

#[test]
fn https_endpoints_need_the_tls_feature() {
    let result = resolve(&[(
        "OTEL_EXPORTER_ZIPKIN_ENDPOINT",
        "https://zipkin:9411/api/v2/spans",
    )]);
    if cfg!(feature = "tls") {
        assert!(result.is_ok());
    } else {
        let error = result.expect_err("no TLS compiled in");
        assert_eq!(error.variable(), "OTEL_EXPORTER_ZIPKIN_ENDPOINT");
        assert!(error.to_string().contains("tls"), "{error}");
    }
}

#[test]
fn sampler_names_and_arguments() {
    let sampler = |pairs: &[(&str, &str)]| ok(pairs).sampler;
    assert_eq!(
        sampler(&[("OTEL_TRACES_SAMPLER", "always_on")]),
        SamplerConfig::AlwaysOn
    );
    assert_eq!(
        sampler(&[("OTEL_TRACES_SAMPLER", "always_off")]),
        SamplerConfig::AlwaysOff
    );
    assert_eq!(
        sampler(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25")
        ]),
        SamplerConfig::TraceIdRatio(0.25)
    );
    assert_eq!(
        sampler(&[("OTEL_TRACES_SAMPLER", "traceidratio")]),
        SamplerConfig::TraceIdRatio(1.0),
        "the specification's default argument is 1.0"
    );
    assert_eq!(
        sampler(&[("OTEL_TRACES_SAMPLER", "parentbased_always_on")]),
        SamplerConfig::ParentBasedAlwaysOn
    );
    assert_eq!(
        sampler(&[("OTEL_TRACES_SAMPLER", "parentbased_always_off")]),
        SamplerConfig::ParentBasedAlwaysOff
    );
    assert_eq!(
        sampler(&[
            ("OTEL_TRACES_SAMPLER", "ParentBased_TraceIdRatio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
        ]),
        SamplerConfig::ParentBasedTraceIdRatio(0.5)
    );
    assert_eq!(
        sampler(&[("OTEL_TRACES_SAMPLER_ARG", "0.5")]),
        SamplerConfig::AlwaysOn,
        "an argument alone does not choose a sampler"
    );
}

#[test]
fn invalid_sampler_values_name_their_variable() {
    assert_eq!(
        err_variable(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]),
        "OTEL_TRACES_SAMPLER"
    );
    for bad_arg in ["half", "1.5", "-0.1", "NaN"] {
        assert_eq!(
            err_variable(&[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", bad_arg),
            ]),
            "OTEL_TRACES_SAMPLER_ARG",
            "{bad_arg}"
        );
    }
}

#[test]
fn builder_settings_take_precedence_over_the_environment() {
    let env = EnvVars::from_pairs([
        ("OTEL_SERVICE_NAME", "from-env"),
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_TRACES_SAMPLER", "always_off"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
        ("RUST_LOG", "debug"),
    ]);
    let config = traced_telemetry::builder("default-svc")
        .env(env)
        .service_name("explicit")
        .exporter(ExporterConfig::None)
        .sampler(SamplerConfig::ParentBasedTraceIdRatio(0.1))
        .export_timeout(Duration::from_millis(700))
        .shutdown_timeout(Duration::from_secs(3))
        .log_filter("warn,traced=trace")
        .resolve()
        .expect("valid");
    assert_eq!(config.service_name, "explicit");
    assert_eq!(config.exporter, ExporterConfig::None);
    assert_eq!(config.sampler, SamplerConfig::ParentBasedTraceIdRatio(0.1));
    assert_eq!(config.export_timeout, Duration::from_millis(700));
    assert_eq!(config.shutdown_timeout, Duration::from_secs(3));
    assert_eq!(config.log_filter.as_deref(), Some("warn,traced=trace"));
}

#[test]
fn builder_values_are_validated_too() {
    let error = traced_telemetry::builder("svc")
        .env(EnvVars::default())
        .sampler(SamplerConfig::TraceIdRatio(2.0))
        .resolve()
        .expect_err("ratio out of range");
    assert!(matches!(error, ConfigError::Invalid { .. }));
    let error = traced_telemetry::builder("svc")
        .env(EnvVars::default())
        .exporter(ExporterConfig::Zipkin {
            endpoint: "localhost:9411".into(),
        })
        .resolve()
        .expect_err("not an absolute URL");
    assert!(matches!(error, ConfigError::Invalid { .. }));
}

#[test]
fn service_name_precedence_env_then_resource_attributes_then_default() {
    assert_eq!(
        ok(&[("OTEL_SERVICE_NAME", "svc-env")]).service_name,
        "svc-env"
    );
    assert_eq!(
        ok(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=svc-attr")]).service_name,
        "svc-attr"
    );
    assert_eq!(
        ok(&[
            ("OTEL_SERVICE_NAME", "svc-env"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=svc-attr"),
        ])
        .service_name,
        "svc-env"
    );
}

#[test]
fn resource_attributes_are_parsed_and_percent_decoded() {
    let config = ok(&[(
        "OTEL_RESOURCE_ATTRIBUTES",
        "deployment.environment=dev, team=cache%20squad,",
    )]);
    assert_eq!(
        config.resource_attributes,
        vec![
            ("deployment.environment".to_owned(), "dev".to_owned()),
            ("team".to_owned(), "cache squad".to_owned()),
        ]
    );
    for bad in ["novalue", "=x", "k=%zz"] {
        assert_eq!(
            err_variable(&[("OTEL_RESOURCE_ATTRIBUTES", bad)]),
            "OTEL_RESOURCE_ATTRIBUTES",
            "{bad}"
        );
    }
}

#[test]
fn log_output_follows_rust_log() {
    assert_eq!(
        ok(&[("RUST_LOG", "debug")]).log_filter.as_deref(),
        Some("debug")
    );
    assert_eq!(err_variable(&[("RUST_LOG", "=[")]), "RUST_LOG");
    let forced_on = traced_telemetry::builder("svc")
        .env(EnvVars::default())
        .log_output(true)
        .resolve()
        .expect("valid");
    assert_eq!(forced_on.log_filter.as_deref(), Some("info"));
    let forced_off = traced_telemetry::builder("svc")
        .env(EnvVars::from_pairs([("RUST_LOG", "debug")]))
        .log_output(false)
        .resolve()
        .expect("valid");
    assert_eq!(forced_off.log_filter, None);
}
