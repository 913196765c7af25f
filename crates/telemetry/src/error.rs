//! Typed errors of telemetry setup: bad configuration (naming the variable at
//! fault), pipeline construction failures, and failed shutdowns.

use crate::ShutdownReport;

/// A configuration value (from the environment or the builder) is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The value could not be parsed or is out of range.
    #[error("invalid value {value:?} for {variable}: {reason}")]
    Invalid {
        /// Environment variable (or builder setting) holding the value.
        variable: String,
        /// The offending value.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The value is well-formed but names something this crate does not support.
    #[error("unsupported value {value:?} for {variable}; supported: {supported}")]
    Unsupported {
        /// Environment variable (or builder setting) holding the value.
        variable: String,
        /// The offending value.
        value: String,
        /// Human-readable list of accepted values.
        supported: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(variable: &str, value: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            variable: variable.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(variable: &str, value: &str, supported: &str) -> Self {
        Self::Unsupported {
            variable: variable.to_owned(),
            value: value.to_owned(),
            supported: supported.to_owned(),
        }
    }

    /// Name of the environment variable (or builder setting) at fault.
    pub fn variable(&self) -> &str {
        match self {
            Self::Invalid { variable, .. } | Self::Unsupported { variable, .. } => variable,
        }
    }
}

/// Setting up the telemetry pipeline failed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The span exporter could not be constructed.
    #[error("cannot build the {exporter} span exporter: {reason}")]
    Exporter {
        /// Which exporter (zipkin, otlp).
        exporter: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// A global `tracing` subscriber was already installed by someone else.
    #[error("a global tracing subscriber is already installed: {0}")]
    SubscriberAlreadySet(String),
}

/// Shutdown did not deliver every finished span; the report says how far it got.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{report}")]
pub struct ShutdownError {
    /// What was exported before things went wrong, and why they did (boxed:
    /// a `Result` carrying it stays small).
    pub report: Box<ShutdownReport>,
}
