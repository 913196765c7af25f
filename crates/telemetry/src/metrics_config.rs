//! Metrics exporter selection: where the meter provider's metrics go and how
//! often, read from `OTEL_METRICS_EXPORTER`, `OTEL_METRIC_EXPORT_INTERVAL`
//! and the `OTEL_EXPORTER_OTLP_*` variables.

use crate::exporter_config::{checked_url, millis_from_env, otlp_from_env};
use crate::{ConfigError, EnvVars, OtlpProtocol, OTEL_EXPORTER_OTLP_TIMEOUT};
use std::fmt;
use std::time::Duration;

/// Environment variable choosing the metrics exporter (`otlp`, `console`, `none`).
pub const OTEL_METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
/// Milliseconds between two exports of the metrics.
pub const OTEL_METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
/// OTLP metrics URL, used as given.
pub const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
/// OTLP protocol for metrics.
pub const OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL";
/// OTLP export timeout in milliseconds, metrics.
pub const OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT";

/// The specification's default export interval.
pub const DEFAULT_METRIC_EXPORT_INTERVAL: Duration = Duration::from_secs(60);

/// Where metrics are sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MetricsExporterConfig {
    /// OTLP over HTTP POSTed to `endpoint` (full URL, e.g. `.../v1/metrics`),
    /// with cumulative temporality (what OTLP backends such as Prometheus
    /// expect, and the specification's default).
    Otlp {
        /// Collector URL.
        endpoint: String,
        /// Protobuf or JSON body.
        protocol: OtlpProtocol,
    },
    /// One line per data point on standard output.
    Console,
    /// No meter provider is installed: instruments are no-ops. The default
    /// here (the specification's is `otlp`), so that a program that never
    /// asked for metrics sends nothing to a collector that may not take them.
    #[default]
    None,
}

impl MetricsExporterConfig {
    /// Short name as used in `OTEL_METRICS_EXPORTER`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Otlp { .. } => "otlp",
            Self::Console => "console",
            Self::None => "none",
        }
    }

    /// Reads `OTEL_METRICS_EXPORTER` and, for `otlp`, the endpoint and
    /// protocol; `None` when the exporter variable is unset.
    pub fn from_env(env: &EnvVars) -> Result<Option<Self>, ConfigError> {
        let Some(kind) = env.get(OTEL_METRICS_EXPORTER) else {
            return Ok(None);
        };
        match kind.to_ascii_lowercase().as_str() {
            "otlp" => Ok(Some(Self::otlp_from_env(env)?)),
            "console" => Ok(Some(Self::Console)),
            "none" => Ok(Some(Self::None)),
            _ => Err(ConfigError::unsupported(
                OTEL_METRICS_EXPORTER,
                kind,
                "otlp, console, none (a single one)",
            )),
        }
    }

    /// OTLP/HTTP metrics with the endpoint and protocol the variables give.
    pub fn otlp_from_env(env: &EnvVars) -> Result<Self, ConfigError> {
        let (endpoint, protocol) = otlp_from_env(
            env,
            OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
            OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
            "/v1/metrics",
        )?;
        Ok(Self::Otlp { endpoint, protocol })
    }

    /// Checks a builder-given endpoint the same way as an environment one.
    pub(crate) fn validate(self) -> Result<Self, ConfigError> {
        if let Self::Otlp { endpoint, .. } = &self {
            checked_url("metrics exporter endpoint", endpoint)?;
        }
        Ok(self)
    }

    /// The export timeout from `OTEL_EXPORTER_OTLP_(METRICS_)TIMEOUT`.
    pub(crate) fn timeout_from_env(&self, env: &EnvVars) -> Result<Option<Duration>, ConfigError> {
        match self {
            Self::Otlp { .. } => millis_from_env(
                env,
                &[
                    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
                    OTEL_EXPORTER_OTLP_TIMEOUT,
                ],
            ),
            Self::Console | Self::None => Ok(None),
        }
    }
}

impl fmt::Display for MetricsExporterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Otlp { endpoint, protocol } => write!(f, "otlp ({protocol}) at {endpoint}"),
            Self::Console => f.write_str("the console"),
            Self::None => f.write_str("no metrics exporter"),
        }
    }
}

/// The metrics part of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsConfig {
    /// Where metrics go.
    pub exporter: MetricsExporterConfig,
    /// Time between exports (a final export happens at shutdown).
    pub export_interval: Duration,
    /// Upper bound for one export request.
    pub export_timeout: Duration,
}

/// Reads `OTEL_METRIC_EXPORT_INTERVAL`; `None` when unset.
pub(crate) fn interval_from_env(env: &EnvVars) -> Result<Option<Duration>, ConfigError> {
    let interval = millis_from_env(env, &[OTEL_METRIC_EXPORT_INTERVAL])?;
    if interval == Some(Duration::ZERO) {
        return Err(ConfigError::invalid(
            OTEL_METRIC_EXPORT_INTERVAL,
            "0",
            "the interval must be positive",
        ));
    }
    Ok(interval)
}
