//! A memory budget for decoding one posted batch.
//!
//! A body within the size limit can still decode into far more memory:
//! 8 MiB of the smallest valid Zipkin spans are some 300 000 spans of
//! several hundred bytes each. Decoders charge every span they produce to a
//! [`BatchBudget`] and stop with [`BatchTooLarge`] once it is spent, so one
//! request never holds more than the budget in decoded spans.

use std::mem::size_of;

use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde::Deserializer;

use crate::model::Span;

/// The decoded batch would exceed its memory budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the batch decodes to more than {limit} bytes of spans; send smaller batches")]
pub struct BatchTooLarge {
    /// The budget, in [`Span::approx_bytes`] units.
    pub limit: usize,
}

/// Bytes left for the spans of one batch.
#[derive(Debug, Clone, Copy)]
pub struct BatchBudget {
    limit: usize,
    used: usize,
}

impl BatchBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> BatchBudget {
        BatchBudget { limit, used: 0 }
    }

    /// Charges `bytes`; fails once the total passes the limit.
    pub fn charge(&mut self, bytes: usize) -> Result<(), BatchTooLarge> {
        self.used = self.used.saturating_add(bytes);
        if self.used > self.limit {
            Err(BatchTooLarge { limit: self.limit })
        } else {
            Ok(())
        }
    }

    /// Fails if `bytes` alone would pass the limit (charges nothing).
    pub fn check(&self, bytes: usize) -> Result<(), BatchTooLarge> {
        if bytes > self.limit {
            Err(BatchTooLarge { limit: self.limit })
        } else {
            Ok(())
        }
    }

    /// Charges one decoded span plus `extra` bytes held alongside it.
    pub fn charge_span(&mut self, span: &Span, extra: usize) -> Result<(), BatchTooLarge> {
        self.charge(span.approx_bytes() + extra)
    }
}

/// Why a Zipkin JSON body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum ZipkinDecodeError {
    /// Not a JSON array of spans.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Valid, but too big once decoded.
    #[error(transparent)]
    TooLarge(#[from] BatchTooLarge),
}

/// Decodes a Zipkin v2 JSON array of spans, charging each to `budget`.
pub fn zipkin_spans(body: &[u8], budget: BatchBudget) -> Result<Vec<Span>, ZipkinDecodeError> {
    let mut seed = BoundedSpans {
        budget,
        exceeded: None,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = (&mut seed).deserialize(&mut de).and_then(|spans| {
        de.end()?;
        Ok(spans)
    });
    match (parsed, seed.exceeded) {
        (_, Some(too_large)) => Err(too_large.into()),
        (result, None) => Ok(result?),
    }
}

struct BoundedSpans {
    budget: BatchBudget,
    /// Set when the budget ran out, so the caller sees a typed error rather
    /// than serde's text.
    exceeded: Option<BatchTooLarge>,
}

impl<'de> DeserializeSeed<'de> for &mut BoundedSpans {
    type Value = Vec<Span>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<Span>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for &mut BoundedSpans {
    type Value = Vec<Span>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of spans")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Span>, A::Error> {
        let mut spans: Vec<Span> = Vec::new();
        while let Some(span) = seq.next_element::<Span>()? {
            let grown = spans.len() == spans.capacity();
            spans.push(span);
            // The vector's growth is memory too: charge the new slots.
            let slots = if grown {
                spans.capacity() - spans.len() + 1
            } else {
                0
            };
            let charged = self
                .budget
                .charge(slots * size_of::<Span>())
                .and_then(|()| self.budget.charge_span(&spans[spans.len() - 1], 0));
            if let Err(too_large) = charged {
                self.exceeded = Some(too_large);
                return Err(serde::de::Error::custom(too_large));
            }
        }
        Ok(spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_stops_a_batch_of_tiny_spans() {
        let one = r#"{"traceId":"1","id":"1"}"#;
        let body = format!("[{}]", vec![one; 10_000].join(","));
        let err = zipkin_spans(body.as_bytes(), BatchBudget::new(1 << 20)).unwrap_err();
        assert!(
            matches!(err, ZipkinDecodeError::TooLarge(BatchTooLarge { limit })
            if limit == 1 << 20)
        );
        let spans = zipkin_spans(body.as_bytes(), BatchBudget::new(64 << 20)).unwrap();
        assert_eq!(spans.len(), 10_000);
    }

    #[test]
    fn malformed_json_is_still_a_json_error() {
        for bad in [&b"{}"[..], b"[1]", b"[] x", b"["] {
            assert!(matches!(
                zipkin_spans(bad, BatchBudget::new(1 << 20)),
                Err(ZipkinDecodeError::Json(_))
            ));
        }
    }
}
