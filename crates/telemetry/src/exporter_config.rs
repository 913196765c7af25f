//! Exporter selection: which backend spans go to and where, read from the
//! standard `OTEL_TRACES_EXPORTER` / `OTEL_EXPORTER_*` variables.

use crate::{ConfigError, EnvVars};
use std::fmt;
use std::time::Duration;

/// Environment variable choosing the exporter (`zipkin`, `otlp`, `none`).
pub const OTEL_TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
/// Zipkin collector URL.
pub const OTEL_EXPORTER_ZIPKIN_ENDPOINT: &str = "OTEL_EXPORTER_ZIPKIN_ENDPOINT";
/// Zipkin export timeout in milliseconds.
pub const OTEL_EXPORTER_ZIPKIN_TIMEOUT: &str = "OTEL_EXPORTER_ZIPKIN_TIMEOUT";
/// OTLP base URL; `/v1/traces` is appended.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// OTLP traces URL, used as given.
pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// OTLP protocol for all signals.
pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// OTLP protocol for traces.
pub const OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
/// OTLP export timeout in milliseconds, all signals.
pub const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// OTLP export timeout in milliseconds, traces.
pub const OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";

/// Where the demo's trace collector (and a stock Zipkin) listens.
pub const DEFAULT_ZIPKIN_ENDPOINT: &str = "http://localhost:9411/api/v2/spans";
/// The OTLP/HTTP default of the specification.
pub const DEFAULT_OTLP_ENDPOINT: &str = "http://localhost:4318/v1/traces";
/// The OTLP/HTTP base URL of the specification; each signal appends its path.
const DEFAULT_OTLP_BASE: &str = "http://localhost:4318";
/// Per-request export timeout unless configured (the specification's 10 s).
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The wire encoding of OTLP over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    /// `http/protobuf` (the default).
    #[default]
    HttpProtobuf,
    /// `http/json`.
    HttpJson,
}

impl fmt::Display for OtlpProtocol {
    /// The protocol as `OTEL_EXPORTER_OTLP_PROTOCOL` names it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HttpProtobuf => "http/protobuf",
            Self::HttpJson => "http/json",
        })
    }
}

/// Where finished spans are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExporterConfig {
    /// Zipkin JSON v2 POSTed to `endpoint` (full URL, e.g. `.../api/v2/spans`).
    Zipkin {
        /// Collector URL.
        endpoint: String,
    },
    /// OTLP over HTTP POSTed to `endpoint` (full URL, e.g. `.../v1/traces`).
    Otlp {
        /// Collector URL.
        endpoint: String,
        /// Protobuf or JSON body.
        protocol: OtlpProtocol,
    },
    /// Spans are created (and sampled) but not exported: for benchmarks.
    None,
}

impl ExporterConfig {
    /// Zipkin at the default local endpoint.
    pub fn zipkin_default() -> Self {
        Self::Zipkin {
            endpoint: DEFAULT_ZIPKIN_ENDPOINT.to_owned(),
        }
    }

    /// Short name as used in `OTEL_TRACES_EXPORTER`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Zipkin { .. } => "zipkin",
            Self::Otlp { .. } => "otlp",
            Self::None => "none",
        }
    }

    /// Reads `OTEL_TRACES_EXPORTER` and the chosen exporter's endpoint;
    /// `None` when the exporter variable is unset.
    pub fn from_env(env: &EnvVars) -> Result<Option<Self>, ConfigError> {
        let Some(kind) = env.get(OTEL_TRACES_EXPORTER) else {
            return Ok(None);
        };
        match kind.to_ascii_lowercase().as_str() {
            "zipkin" => Ok(Some(Self::zipkin_from_env(env)?)),
            "otlp" => Ok(Some(Self::otlp_from_env(env)?)),
            "none" => Ok(Some(Self::None)),
            _ => Err(ConfigError::unsupported(
                OTEL_TRACES_EXPORTER,
                kind,
                "zipkin, otlp, none (a single one)",
            )),
        }
    }

    /// Zipkin with `OTEL_EXPORTER_ZIPKIN_ENDPOINT` or the default endpoint.
    pub fn zipkin_from_env(env: &EnvVars) -> Result<Self, ConfigError> {
        let endpoint = match env.get(OTEL_EXPORTER_ZIPKIN_ENDPOINT) {
            Some(url) => checked_url(OTEL_EXPORTER_ZIPKIN_ENDPOINT, url)?,
            None => DEFAULT_ZIPKIN_ENDPOINT.to_owned(),
        };
        Ok(Self::Zipkin { endpoint })
    }

    /// OTLP/HTTP with the endpoint and protocol the specification's variables give.
    pub fn otlp_from_env(env: &EnvVars) -> Result<Self, ConfigError> {
        let (endpoint, protocol) = otlp_from_env(
            env,
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
            OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
            "/v1/traces",
        )?;
        Ok(Self::Otlp { endpoint, protocol })
    }

    /// Checks a builder-given endpoint the same way as an environment one.
    pub(crate) fn validate(self) -> Result<Self, ConfigError> {
        match &self {
            Self::Zipkin { endpoint } | Self::Otlp { endpoint, .. } => {
                checked_url("exporter endpoint", endpoint)?;
            }
            Self::None => {}
        }
        Ok(self)
    }

    /// The export timeout variable(s) relevant for this exporter, in precedence order.
    pub(crate) fn timeout_from_env(&self, env: &EnvVars) -> Result<Option<Duration>, ConfigError> {
        let vars: &[&str] = match self {
            Self::Zipkin { .. } => &[OTEL_EXPORTER_ZIPKIN_TIMEOUT],
            Self::Otlp { .. } => &[
                OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
                OTEL_EXPORTER_OTLP_TIMEOUT,
            ],
            Self::None => &[],
        };
        millis_from_env(env, vars)
    }
}

impl fmt::Display for ExporterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zipkin { endpoint } => write!(f, "zipkin at {endpoint}"),
            Self::Otlp { endpoint, protocol } => write!(f, "otlp ({protocol}) at {endpoint}"),
            Self::None => f.write_str("no exporter"),
        }
    }
}

/// The OTLP/HTTP endpoint and protocol of one signal: the signal's own
/// endpoint variable (used as given), else the base endpoint with the
/// signal's `path` appended, else the local default; the signal's protocol
/// variable, else the general one, else protobuf.
pub(crate) fn otlp_from_env(
    env: &EnvVars,
    endpoint_variable: &str,
    protocol_variable: &str,
    path: &str,
) -> Result<(String, OtlpProtocol), ConfigError> {
    let endpoint = if let Some(url) = env.get(endpoint_variable) {
        checked_url(endpoint_variable, url)?
    } else {
        let base = match env.get(OTEL_EXPORTER_OTLP_ENDPOINT) {
            Some(base) => checked_url(OTEL_EXPORTER_OTLP_ENDPOINT, base)?,
            None => DEFAULT_OTLP_BASE.to_owned(),
        };
        format!("{}{path}", base.trim_end_matches('/'))
    };
    let protocol = [protocol_variable, OTEL_EXPORTER_OTLP_PROTOCOL]
        .into_iter()
        .find_map(|var| env.get(var).map(|value| (var, value)))
        .map(|(var, value)| parse_protocol(var, value))
        .transpose()?
        .unwrap_or_default();
    Ok((endpoint, protocol))
}

/// Milliseconds from the first of `variables` that is set.
pub(crate) fn millis_from_env(
    env: &EnvVars,
    variables: &[&str],
) -> Result<Option<Duration>, ConfigError> {
    let Some((var, raw)) = variables
        .iter()
        .find_map(|var| env.get(var).map(|value| (*var, value)))
    else {
        return Ok(None);
    };
    let millis: u64 = raw
        .parse()
        .map_err(|_| ConfigError::invalid(var, raw, "expected milliseconds"))?;
    Ok(Some(Duration::from_millis(millis)))
}

fn parse_protocol(variable: &str, value: &str) -> Result<OtlpProtocol, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
        "http/json" => Ok(OtlpProtocol::HttpJson),
        _ => Err(ConfigError::unsupported(
            variable,
            value,
            "http/protobuf, http/json (grpc is not built in)",
        )),
    }
}

/// An absolute http(s) URL; https only when the `tls` feature compiled a TLS stack.
pub(crate) fn checked_url(variable: &str, url: &str) -> Result<String, ConfigError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| ConfigError::invalid(variable, url, format!("not a URL: {e}")))?;
    if uri.host().is_none() {
        return Err(ConfigError::invalid(variable, url, "URL has no host"));
    }
    match uri.scheme_str() {
        Some("http") => Ok(url.to_owned()),
        Some("https") if cfg!(feature = "tls") => Ok(url.to_owned()),
        Some("https") => Err(ConfigError::invalid(
            variable,
            url,
            "https needs traced-telemetry's `tls` feature",
        )),
        _ => Err(ConfigError::invalid(
            variable,
            url,
            "URL must start with http:// or https://",
        )),
    }
}
