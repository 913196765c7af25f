//! What shutdown achieved, stated truthfully: the seed demo's "Sending all
//! pending spans before terminated." becomes a message backed by counts.

use crate::{ExporterConfig, MetricCounts, MetricsExporterConfig, SpanCounts};
use std::fmt;

/// Outcome of flushing and shutting down the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Where spans were sent.
    pub exporter: ExporterConfig,
    /// Sampled spans that ended, exported spans, spans whose export failed.
    pub counts: SpanCounts,
    /// Why the shutdown itself failed (timeout, already shut down, ...).
    pub failure: Option<String>,
    /// The most recent export error (collector unreachable, HTTP 5xx, ...).
    pub last_export_error: Option<String>,
    /// What happened to metrics; `None` when no meter provider was installed.
    pub metrics: Option<MetricsReport>,
}

/// Outcome of the final metrics export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsReport {
    /// Where metrics were sent.
    pub exporter: MetricsExporterConfig,
    /// Exports and data points delivered, exports failed (the final one included).
    pub counts: MetricCounts,
    /// Why the meter provider's shutdown failed, if it did.
    pub failure: Option<String>,
    /// The most recent export error.
    pub last_export_error: Option<String>,
}

impl MetricsReport {
    /// True when no export failed and the shutdown (with its final export) succeeded.
    pub fn is_complete(&self) -> bool {
        self.failure.is_none() && self.counts.failed_exports == 0
    }
}

impl fmt::Display for MetricsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let MetricCounts {
            exports,
            data_points,
            failed_exports,
        } = self.counts;
        write!(
            f,
            "Metrics: sent {data_points} data points in {exports} exports to {}",
            self.exporter
        )?;
        if failed_exports > 0 {
            write!(f, ", {failed_exports} exports failed")?;
        }
        if let Some(reason) = &self.failure {
            write!(f, "; shutdown failed: {reason}")?;
        }
        if let Some(error) = &self.last_export_error {
            write!(f, "; last export error: {error}")?;
        }
        f.write_str(".")
    }
}

impl ShutdownReport {
    /// True when nothing went wrong and every finished span reached the
    /// backend (with exporter `none`, when nothing went wrong).
    pub fn is_complete(&self) -> bool {
        self.failure.is_none()
            && self.counts.failed == 0
            && (self.exporter == ExporterConfig::None
                || self.counts.exported == self.counts.finished)
            && self.metrics.as_ref().is_none_or(MetricsReport::is_complete)
    }

    /// Finished spans that did not reach the backend.
    pub fn unexported_spans(&self) -> u64 {
        self.counts.finished.saturating_sub(self.counts.exported)
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let SpanCounts {
            finished,
            exported,
            failed,
        } = self.counts;
        if self.exporter == ExporterConfig::None {
            write!(
                f,
                "Exporter is none: {finished} finished spans were not exported"
            )?;
        } else if self.is_complete() {
            write!(f, "Sent all {exported} finished spans to {}", self.exporter)?;
        } else {
            write!(
                f,
                "Exported {exported} of {finished} finished spans to {} ({failed} in failed requests)",
                self.exporter
            )?;
        }
        if let Some(reason) = &self.failure {
            write!(f, "; shutdown failed: {reason}")?;
        }
        if let Some(error) = &self.last_export_error {
            write!(f, "; last export error: {error}")?;
        }
        f.write_str(".")?;
        match &self.metrics {
            Some(metrics) => write!(f, " {metrics}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(finished: u64, exported: u64, failed: u64, failure: Option<&str>) -> ShutdownReport {
        ShutdownReport {
            exporter: ExporterConfig::zipkin_default(),
            counts: SpanCounts {
                finished,
                exported,
                failed,
            },
            failure: failure.map(str::to_owned),
            last_export_error: None,
            metrics: None,
        }
    }

    #[test]
    fn complete_only_when_every_finished_span_was_exported() {
        assert!(report(3, 3, 0, None).is_complete());
        assert!(!report(3, 2, 0, None).is_complete(), "a dropped span");
        assert!(!report(3, 3, 1, None).is_complete());
        assert!(!report(3, 3, 0, Some("timeout")).is_complete());
    }

    #[test]
    fn messages_claim_only_what_happened() {
        assert_eq!(
            report(3, 3, 0, None).to_string(),
            "Sent all 3 finished spans to zipkin at http://localhost:9411/api/v2/spans."
        );
        assert_eq!(
            report(5, 2, 3, Some("timed out")).to_string(),
            "Exported 2 of 5 finished spans to zipkin at http://localhost:9411/api/v2/spans \
             (3 in failed requests); shutdown failed: timed out."
        );
        let mut refused = report(5, 2, 3, None);
        refused.last_export_error = Some("connection refused".to_owned());
        assert_eq!(
            refused.to_string(),
            "Exported 2 of 5 finished spans to zipkin at http://localhost:9411/api/v2/spans \
             (3 in failed requests); last export error: connection refused."
        );
        assert_eq!(report(5, 2, 3, None).unexported_spans(), 3);
    }

    #[test]
    fn a_failed_metrics_export_makes_the_report_incomplete() {
        let mut complete = report(3, 3, 0, None);
        let metrics = MetricsReport {
            exporter: MetricsExporterConfig::Console,
            counts: MetricCounts {
                exports: 2,
                data_points: 7,
                failed_exports: 0,
            },
            failure: None,
            last_export_error: None,
        };
        complete.metrics = Some(metrics.clone());
        assert!(complete.is_complete());
        assert!(complete
            .to_string()
            .ends_with(" Metrics: sent 7 data points in 2 exports to the console."));
        let mut failed = complete.clone();
        failed.metrics = Some(MetricsReport {
            counts: MetricCounts {
                failed_exports: 1,
                ..metrics.counts
            },
            last_export_error: Some("connection refused".to_owned()),
            ..metrics
        });
        assert!(!failed.is_complete());
        assert!(failed
            .to_string()
            .ends_with(", 1 exports failed; last export error: connection refused."));
    }
}
