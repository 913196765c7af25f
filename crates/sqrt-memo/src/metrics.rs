//! OpenTelemetry metrics of the memo engine (feature `otel`), beside the
//! plain counters of [`crate::MemoStats`]:
//!
//! | instrument | type | unit | attributes |
//! | --- | --- | --- | --- |
//! | `sqrt.memo.lookups` | counter | `{call}` | `sqrt.source` (`hit`, `hit_after_wait`, `near_cache`, `computed`, `computed_after_wait`, `computed_uncached`) |
//! | `sqrt.compute.duration` | histogram | `s` | `sqrt.number.size` (decimal digits as a power of ten: `1e2`, `1e3`, ...) |
//! | `sqrt.memo.rejected` | counter | `{value}` | `sqrt.rejection` (`format`, `empty`, `missing_chunk`, `chunks_mismatch`, `nested_manifest`, `wrong_root`) |
//! | `sqrt.memo.store_errors` | counter | `{error}` | none |
//!
//! Instruments come from the global meter provider when the engine is
//! created; without one they are OpenTelemetry's no-ops.

use std::time::Duration;

#[cfg(feature = "otel")]
use opentelemetry::metrics::{Counter, Histogram};
#[cfg(feature = "otel")]
use opentelemetry::KeyValue;

use crate::engine::Source;
use crate::rejection::Rejection;

/// The engine's instruments.
#[derive(Debug)]
pub(crate) struct MemoMetrics {
    #[cfg(feature = "otel")]
    lookups: Counter<u64>,
    #[cfg(feature = "otel")]
    compute_duration: Histogram<f64>,
    #[cfg(feature = "otel")]
    rejected: Counter<u64>,
    #[cfg(feature = "otel")]
    store_errors: Counter<u64>,
}

// Derivable only without `otel`, where the struct is empty.
#[allow(clippy::derivable_impls)]
impl Default for MemoMetrics {
    fn default() -> Self {
        #[cfg(feature = "otel")]
        {
            let meter = opentelemetry::global::meter("sqrt-memo");
            MemoMetrics {
                lookups: meter
                    .u64_counter("sqrt.memo.lookups")
                    .with_unit("{call}")
                    .with_description("Roots asked for, by where the answer came from")
                    .build(),
                compute_duration: meter
                    .f64_histogram("sqrt.compute.duration")
                    .with_unit("s")
                    .with_description("Time to compute a root, by the number's size")
                    .with_boundaries(vec![
                        1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0,
                    ])
                    .build(),
                rejected: meter
                    .u64_counter("sqrt.memo.rejected")
                    .with_unit("{value}")
                    .with_description("Stored values refused (corrupt, forged, swapped, wrong)")
                    .build(),
                store_errors: meter
                    .u64_counter("sqrt.memo.store_errors")
                    .with_unit("{error}")
                    .with_description("memcached operations of the engine that failed")
                    .build(),
            }
        }
        #[cfg(not(feature = "otel"))]
        MemoMetrics {}
    }
}

/// `1e<k>` for a number of `bits` bits: its decimal digits' order of
/// magnitude, a bounded set of attribute values.
#[cfg_attr(not(feature = "otel"), allow(dead_code))]
fn size_class(bits: u32) -> &'static str {
    const CLASSES: [&str; 9] = [
        "1e0", "1e1", "1e2", "1e3", "1e4", "1e5", "1e6", "1e7", "1e8",
    ];
    let digits = f64::from(bits) * std::f64::consts::LOG10_2;
    let k = if digits < 1.0 {
        0
    } else {
        digits.log10().floor() as usize
    };
    CLASSES[k.min(CLASSES.len() - 1)]
}

impl MemoMetrics {
    /// One call answered from `source`.
    pub fn lookup(&self, source: Source) {
        #[cfg(feature = "otel")]
        self.lookups
            .add(1, &[KeyValue::new("sqrt.source", source.as_str())]);
        #[cfg(not(feature = "otel"))]
        let _ = source;
    }

    /// A root of a `bits`-bit number computed in `took`.
    pub fn computed(&self, bits: u32, took: Duration) {
        #[cfg(feature = "otel")]
        self.compute_duration.record(
            took.as_secs_f64(),
            &[KeyValue::new("sqrt.number.size", size_class(bits))],
        );
        #[cfg(not(feature = "otel"))]
        let _ = (bits, took);
    }

    /// A stored value refused.
    pub fn rejected(&self, reason: &Rejection) {
        #[cfg(feature = "otel")]
        self.rejected
            .add(1, &[KeyValue::new("sqrt.rejection", reason.kind())]);
        #[cfg(not(feature = "otel"))]
        let _ = reason;
    }

    /// A memcached operation failed.
    pub fn store_error(&self) {
        #[cfg(feature = "otel")]
        self.store_errors.add(1, &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn sizes_are_powers_of_ten_of_the_digit_count() {
        assert_eq!(size_class(0), "1e0");
        assert_eq!(size_class(7), "1e0"); // 127: 2.1 digits
        assert_eq!(size_class(333), "1e2"); // ~100 digits
        assert_eq!(size_class(3_322_000), "1e6");
        assert_eq!(size_class(u32::MAX), "1e8");
    }
}
