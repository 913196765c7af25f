//! The resolved telemetry configuration and the builder that produces it:
//! explicit builder settings win over the environment, which wins over defaults.

use crate::metrics_config::interval_from_env;
use crate::{
    ConfigError, EnvVars, ExporterConfig, MetricsConfig, MetricsExporterConfig, SamplerConfig,
    DEFAULT_EXPORT_TIMEOUT, DEFAULT_METRIC_EXPORT_INTERVAL,
};
use std::time::Duration;

/// Environment variable naming the service.
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// Extra resource attributes, `key=value,key2=value2` (values percent-encoded).
pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
/// `tracing` filter directives for the human-readable log output.
pub const RUST_LOG: &str = "RUST_LOG";

/// Everything needed to build the pipeline, after precedence was applied.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    /// `service.name` resource attribute.
    pub service_name: String,
    /// `service.version` resource attribute, if known.
    pub service_version: Option<String>,
    /// Where spans go.
    pub exporter: ExporterConfig,
    /// Which traces are kept.
    pub sampler: SamplerConfig,
    /// Extra resource attributes (environment ones first, then builder ones).
    pub resource_attributes: Vec<(String, String)>,
    /// Human-readable log output filtered by these directives; `None` = no log output.
    pub log_filter: Option<String>,
    /// Upper bound for one export request.
    pub export_timeout: Duration,
    /// Upper bound for flushing everything at shutdown.
    pub shutdown_timeout: Duration,
    /// Where metrics go, how often.
    pub metrics: MetricsConfig,
}

/// Collects explicit settings; [`TelemetryBuilder::resolve`] merges them with
/// the environment. Start from [`crate::builder`].
#[derive(Debug, Clone)]
pub struct TelemetryBuilder {
    default_service_name: String,
    service_name: Option<String>,
    service_version: Option<String>,
    exporter: Option<ExporterConfig>,
    sampler: Option<SamplerConfig>,
    resource_attributes: Vec<(String, String)>,
    log_filter: Option<String>,
    log_output: Option<bool>,
    export_timeout: Option<Duration>,
    shutdown_timeout: Option<Duration>,
    metrics_exporter: Option<MetricsExporterConfig>,
    metric_export_interval: Option<Duration>,
    env: Option<EnvVars>,
}

impl TelemetryBuilder {
    /// A builder whose service name is `default_service_name` unless
    /// `OTEL_SERVICE_NAME` (or [`Self::service_name`]) says otherwise.
    pub fn new(default_service_name: impl Into<String>) -> Self {
        Self {
            default_service_name: default_service_name.into(),
            service_name: None,
            service_version: None,
            exporter: None,
            sampler: None,
            resource_attributes: Vec::new(),
            log_filter: None,
            log_output: None,
            export_timeout: None,
            shutdown_timeout: None,
            metrics_exporter: None,
            metric_export_interval: None,
            env: None,
        }
    }

    /// Forces the service name, overriding `OTEL_SERVICE_NAME`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Sets `service.version` (typically `env!("CARGO_PKG_VERSION")`).
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// Forces the exporter, overriding `OTEL_TRACES_EXPORTER` and endpoints.
    pub fn exporter(mut self, exporter: ExporterConfig) -> Self {
        self.exporter = Some(exporter);
        self
    }

    /// Forces the sampler, overriding `OTEL_TRACES_SAMPLER`.
    pub fn sampler(mut self, sampler: SamplerConfig) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// Adds a resource attribute (wins over one of the same key from the environment).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }

    /// Turns human-readable log output on or off. Unset: on exactly when `RUST_LOG` is set.
    pub fn log_output(mut self, enabled: bool) -> Self {
        self.log_output = Some(enabled);
        self
    }

    /// Filter directives for the log output, overriding `RUST_LOG` (implies log output
    /// unless [`Self::log_output`] turned it off).
    pub fn log_filter(mut self, directives: impl Into<String>) -> Self {
        self.log_filter = Some(directives.into());
        self
    }

    /// Upper bound for one export request, overriding `OTEL_EXPORTER_*_TIMEOUT`.
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = Some(timeout);
        self
    }

    /// Upper bound for the final flush (default: twice the export timeout).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Forces the metrics exporter, overriding `OTEL_METRICS_EXPORTER` and endpoints.
    pub fn metrics_exporter(mut self, exporter: MetricsExporterConfig) -> Self {
        self.metrics_exporter = Some(exporter);
        self
    }

    /// Time between metric exports, overriding `OTEL_METRIC_EXPORT_INTERVAL`.
    pub fn metric_export_interval(mut self, interval: Duration) -> Self {
        self.metric_export_interval = Some(interval);
        self
    }

    /// Reads configuration from `env` instead of the process environment.
    pub fn env(mut self, env: EnvVars) -> Self {
        self.env = Some(env);
        self
    }

    /// Applies precedence: builder settings, then environment, then defaults.
    pub fn resolve(&self) -> Result<TelemetryConfig, ConfigError> {
        let process_env;
        let env = match &self.env {
            Some(env) => env,
            None => {
                process_env = EnvVars::from_process();
                &process_env
            }
        };

        let exporter = match &self.exporter {
            Some(explicit) => explicit.clone().validate()?,
            None => match ExporterConfig::from_env(env)? {
                Some(chosen) => chosen,
                None => ExporterConfig::zipkin_from_env(env)?,
            },
        };
        let sampler = match self.sampler {
            Some(explicit) => explicit.validate()?,
            None => SamplerConfig::from_env(env)?.unwrap_or_default(),
        };

        let mut resource_attributes = parse_resource_attributes(env)?;
        let env_service_name = resource_attributes
            .iter()
            .rev()
            .find(|(k, _)| k == "service.name")
            .map(|(_, v)| v.clone());
        resource_attributes.extend(self.resource_attributes.iter().cloned());
        let service_name = self
            .service_name
            .clone()
            .or_else(|| env.get(OTEL_SERVICE_NAME).map(str::to_owned))
            .or(env_service_name)
            .unwrap_or_else(|| self.default_service_name.clone());

        let log_filter = self.resolve_log_filter(env)?;

        let export_timeout = match self.export_timeout {
            Some(explicit) => explicit,
            None => exporter
                .timeout_from_env(env)?
                .unwrap_or(DEFAULT_EXPORT_TIMEOUT),
        };
        let shutdown_timeout = self.shutdown_timeout.unwrap_or(export_timeout * 2);
        let metrics = self.resolve_metrics(env)?;

        Ok(TelemetryConfig {
            service_name,
            service_version: self.service_version.clone(),
            exporter,
            sampler,
            resource_attributes,
            log_filter,
            export_timeout,
            shutdown_timeout,
            metrics,
        })
    }

    fn resolve_metrics(&self, env: &EnvVars) -> Result<MetricsConfig, ConfigError> {
        let exporter = match &self.metrics_exporter {
            Some(explicit) => explicit.clone().validate()?,
            None => MetricsExporterConfig::from_env(env)?.unwrap_or_default(),
        };
        let export_interval = match self.metric_export_interval {
            Some(Duration::ZERO) => {
                return Err(ConfigError::invalid(
                    "metric export interval",
                    "0",
                    "the interval must be positive",
                ))
            }
            Some(explicit) => explicit,
            None => interval_from_env(env)?.unwrap_or(DEFAULT_METRIC_EXPORT_INTERVAL),
        };
        let export_timeout = match self.export_timeout {
            Some(explicit) => explicit,
            None => exporter
                .timeout_from_env(env)?
                .unwrap_or(DEFAULT_EXPORT_TIMEOUT),
        };
        Ok(MetricsConfig {
            exporter,
            export_interval,
            export_timeout,
        })
    }

    fn resolve_log_filter(&self, env: &EnvVars) -> Result<Option<String>, ConfigError> {
        let (variable, directives) = match (&self.log_filter, env.get(RUST_LOG)) {
            (Some(explicit), _) => ("log filter", Some(explicit.clone())),
            (None, from_env) => (RUST_LOG, from_env.map(str::to_owned)),
        };
        let enabled = self.log_output.unwrap_or(directives.is_some());
        if !enabled {
            return Ok(None);
        }
        let directives = directives.unwrap_or_else(|| "info".to_owned());
        tracing_subscriber::EnvFilter::try_new(&directives)
            .map_err(|e| ConfigError::invalid(variable, &directives, e.to_string()))?;
        Ok(Some(directives))
    }
}

/// `OTEL_RESOURCE_ATTRIBUTES`: comma-separated `key=value`, values percent-decoded.
fn parse_resource_attributes(env: &EnvVars) -> Result<Vec<(String, String)>, ConfigError> {
    let Some(raw) = env.get(OTEL_RESOURCE_ATTRIBUTES) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let (key, value) = entry.split_once('=').ok_or_else(|| {
                ConfigError::invalid(OTEL_RESOURCE_ATTRIBUTES, raw, "entries must be key=value")
            })?;
            let key = key.trim();
            if key.is_empty() {
                return Err(ConfigError::invalid(
                    OTEL_RESOURCE_ATTRIBUTES,
                    raw,
                    "empty attribute key",
                ));
            }
            let value = percent_decode(value.trim()).ok_or_else(|| {
                ConfigError::invalid(OTEL_RESOURCE_ATTRIBUTES, raw, "bad percent-encoding")
            })?;
            Ok((key.to_owned(), value))
        })
        .collect()
}

fn percent_decode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = input.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
