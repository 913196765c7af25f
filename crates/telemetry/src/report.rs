//! What shutdown achieved, stated truthfully: the seed demo's "Sending all
//! pending spans before terminated." becomes a message backed by counts.

use crate::{ExporterConfig, SpanCounts};
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
}

impl ShutdownReport {
    /// True when nothing went wrong and every finished span reached the
    /// backend (with exporter `none`, when nothing went wrong).
    pub fn is_complete(&self) -> bool {
        self.failure.is_none()
            && self.counts.failed == 0
            && (self.exporter == ExporterConfig::None
                || self.counts.exported == self.counts.finished)
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
        f.write_str(".")
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
}
