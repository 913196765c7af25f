//! The OpenTelemetry resource describing this process: service name and
//! version, SDK identity (`telemetry.sdk.*`), host name, and extra attributes.

use crate::TelemetryConfig;
use opentelemetry::KeyValue;
use opentelemetry_sdk::resource::TelemetryResourceDetector;
use opentelemetry_sdk::Resource;

/// Builds the resource for `config`. The process environment is deliberately not
/// consulted here: `config` already holds what the environment contributed.
pub fn build_resource(config: &TelemetryConfig) -> Resource {
    let mut builder = Resource::builder_empty().with_detector(Box::new(TelemetryResourceDetector));
    if let Some(host) = host_name() {
        builder = builder.with_attribute(KeyValue::new("host.name", host));
    }
    builder = builder.with_attributes(
        config
            .resource_attributes
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
    );
    if let Some(version) = &config.service_version {
        builder = builder.with_attribute(KeyValue::new("service.version", version.clone()));
    }
    builder
        .with_service_name(config.service_name.clone())
        .build()
}

/// The kernel's host name where Linux exposes it, else `$HOSTNAME`.
fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}
