//! The trace context stored with a value: which span computed it.
//!
//! With the `otel` feature the ids come from the current `tracing` span via
//! traced-telemetry's `OpenTelemetrySpanExt` (its `OtelLayer`, or
//! `tracing-opentelemetry`'s layer), and a hit links back to them; without it (or with
//! no OpenTelemetry layer installed) they are zeros, meaning "unknown".

use crate::key::hex;

/// Trace id and span id of the span that computed a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TraceContext {
    /// W3C trace id, big-endian as OpenTelemetry prints it.
    pub trace_id: [u8; 16],
    /// W3C span id.
    pub span_id: [u8; 8],
}

impl TraceContext {
    /// Whether both ids are set (all-zero ids are invalid in W3C tracing).
    pub fn is_valid(&self) -> bool {
        self.trace_id != [0; 16] && self.span_id != [0; 8]
    }

    /// The trace id as 32 lower-case hex digits.
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// The span id as 16 lower-case hex digits.
    pub fn span_id_hex(&self) -> String {
        hex(&self.span_id)
    }

    /// The context of `span` as OpenTelemetry knows it; zeros when no
    /// OpenTelemetry layer is installed or the `otel` feature is off.
    pub fn of_span(span: &tracing::Span) -> TraceContext {
        #[cfg(feature = "otel")]
        {
            use opentelemetry::trace::TraceContextExt;
            use traced_telemetry::OpenTelemetrySpanExt;
            let context = span.context();
            let span_ref = context.span();
            let span_context = span_ref.span_context();
            if span_context.is_valid() {
                return TraceContext {
                    trace_id: span_context.trace_id().to_bytes(),
                    span_id: span_context.span_id().to_bytes(),
                };
            }
            TraceContext::default()
        }
        #[cfg(not(feature = "otel"))]
        {
            let _ = span;
            TraceContext::default()
        }
    }

    /// Adds an OpenTelemetry link from `span` to this context (no-op when
    /// invalid or without the `otel` feature).
    pub fn link_from(&self, span: &tracing::Span) {
        #[cfg(feature = "otel")]
        if self.is_valid() {
            use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
            use traced_telemetry::OpenTelemetrySpanExt;
            let linked = SpanContext::new(
                TraceId::from_bytes(self.trace_id),
                SpanId::from_bytes(self.span_id),
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            );
            span.add_link(linked);
        }
        #[cfg(not(feature = "otel"))]
        let _ = span;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_are_invalid_and_hex_is_lower_case() {
        assert!(!TraceContext::default().is_valid());
        let t = TraceContext {
            trace_id: [0xab; 16],
            span_id: [0x01; 8],
        };
        assert!(t.is_valid());
        assert_eq!(t.trace_id_hex(), "ab".repeat(16));
        assert_eq!(t.span_id_hex(), "0101010101010101");
    }

    #[test]
    fn without_a_layer_the_context_is_unknown() {
        let span = tracing::info_span!("no subscriber");
        assert_eq!(TraceContext::of_span(&span), TraceContext::default());
    }
}
