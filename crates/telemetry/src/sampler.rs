//! Sampler selection: the `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`
//! vocabulary of the OpenTelemetry specification, mapped onto SDK samplers.

use crate::{ConfigError, EnvVars};
use opentelemetry::trace::{SpanContext, TraceId};
use opentelemetry_sdk::trace::Sampler;

/// Environment variable choosing the sampler.
pub const OTEL_TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
/// Environment variable carrying the sampler's ratio argument.
pub const OTEL_TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";

const SUPPORTED: &str = "always_on, always_off, traceidratio, parentbased_always_on, \
                         parentbased_always_off, parentbased_traceidratio";

/// Which traces are recorded and exported.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum SamplerConfig {
    /// Every trace (the default: a demo wants to see everything).
    #[default]
    AlwaysOn,
    /// No trace.
    AlwaysOff,
    /// A fraction (0.0..=1.0) of traces, chosen by trace id, ignoring the parent.
    TraceIdRatio(f64),
    /// Follow the parent's decision; sample all root spans.
    ParentBasedAlwaysOn,
    /// Follow the parent's decision; sample no root span.
    ParentBasedAlwaysOff,
    /// Follow the parent's decision; sample a fraction of root spans.
    ParentBasedTraceIdRatio(f64),
}

impl SamplerConfig {
    /// Reads `OTEL_TRACES_SAMPLER` (and its argument); `None` when unset.
    pub fn from_env(env: &EnvVars) -> Result<Option<Self>, ConfigError> {
        let Some(name) = env.get(OTEL_TRACES_SAMPLER) else {
            return Ok(None);
        };
        let ratio = || ratio_arg(env);
        let sampler = match name.to_ascii_lowercase().as_str() {
            "always_on" => Self::AlwaysOn,
            "always_off" => Self::AlwaysOff,
            "traceidratio" => Self::TraceIdRatio(ratio()?),
            "parentbased_always_on" => Self::ParentBasedAlwaysOn,
            "parentbased_always_off" => Self::ParentBasedAlwaysOff,
            "parentbased_traceidratio" => Self::ParentBasedTraceIdRatio(ratio()?),
            _ => {
                return Err(ConfigError::unsupported(
                    OTEL_TRACES_SAMPLER,
                    name,
                    SUPPORTED,
                ))
            }
        };
        Ok(Some(sampler))
    }

    /// Checks a ratio given through the builder.
    pub(crate) fn validate(self) -> Result<Self, ConfigError> {
        match self {
            Self::TraceIdRatio(r) | Self::ParentBasedTraceIdRatio(r) => {
                check_ratio("sampler ratio", &r.to_string(), r).map(|_| self)
            }
            _ => Ok(self),
        }
    }

    /// The SDK sampler implementing this choice.
    pub fn to_sdk_sampler(self) -> Sampler {
        match self {
            Self::AlwaysOn => Sampler::AlwaysOn,
            Self::AlwaysOff => Sampler::AlwaysOff,
            Self::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
            Self::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            Self::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
            Self::ParentBasedTraceIdRatio(r) => {
                Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
            }
        }
    }
}

impl SamplerConfig {
    /// Whether a new span of trace `trace_id` is sampled, given its parent
    /// (`None` or an invalid context for a root span). The same decision as
    /// [`Self::to_sdk_sampler`]'s sampler makes, without building the
    /// `Context` and `SamplingResult` that the SDK's interface needs.
    pub fn samples(self, parent: Option<&SpanContext>, trace_id: TraceId) -> bool {
        let parent_sampled = parent.filter(|p| p.is_valid()).map(SpanContext::is_sampled);
        match (self, parent_sampled) {
            (Self::AlwaysOn, _) => true,
            (Self::AlwaysOff, _) => false,
            (Self::TraceIdRatio(ratio), _) => ratio_samples(ratio, trace_id),
            (
                Self::ParentBasedAlwaysOn
                | Self::ParentBasedAlwaysOff
                | Self::ParentBasedTraceIdRatio(_),
                Some(sampled),
            ) => sampled,
            (Self::ParentBasedAlwaysOn, None) => true,
            (Self::ParentBasedAlwaysOff, None) => false,
            (Self::ParentBasedTraceIdRatio(ratio), None) => ratio_samples(ratio, trace_id),
        }
    }
}

/// The SDK's `TraceIdRatioBased` rule: the trace id's low 63 bits below
/// `ratio` × 2^63.
fn ratio_samples(ratio: f64, trace_id: TraceId) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    let upper_bound = (ratio.max(0.0) * (1u64 << 63) as f64) as u64;
    let low = u128::from_be_bytes(trace_id.to_bytes()) as u64;
    (low >> 1) < upper_bound
}

/// The ratio argument; the specification's default is 1.0 when it is unset.
fn ratio_arg(env: &EnvVars) -> Result<f64, ConfigError> {
    let Some(raw) = env.get(OTEL_TRACES_SAMPLER_ARG) else {
        return Ok(1.0);
    };
    let ratio: f64 = raw
        .parse()
        .map_err(|_| ConfigError::invalid(OTEL_TRACES_SAMPLER_ARG, raw, "not a number"))?;
    check_ratio(OTEL_TRACES_SAMPLER_ARG, raw, ratio)
}

fn check_ratio(variable: &str, raw: &str, ratio: f64) -> Result<f64, ConfigError> {
    if (0.0..=1.0).contains(&ratio) {
        Ok(ratio)
    } else {
        Err(ConfigError::invalid(
            variable,
            raw,
            "a ratio must lie between 0.0 and 1.0",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanId, SpanKind, TraceContextExt, TraceFlags, TraceState};
    use opentelemetry::Context;
    use opentelemetry_sdk::trace::{
        IdGenerator, RandomIdGenerator, SamplingDecision, ShouldSample,
    };

    fn parent(sampled: bool) -> SpanContext {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        SpanContext::new(
            TraceId::from_bytes([9; 16]),
            SpanId::from_bytes([4; 8]),
            flags,
            true,
            TraceState::default(),
        )
    }

    #[test]
    fn the_layer_decides_as_the_sdk_sampler_does() {
        let ids = RandomIdGenerator::default();
        let configs = [
            SamplerConfig::AlwaysOn,
            SamplerConfig::AlwaysOff,
            SamplerConfig::TraceIdRatio(0.0),
            SamplerConfig::TraceIdRatio(0.3),
            SamplerConfig::TraceIdRatio(1.0),
            SamplerConfig::ParentBasedAlwaysOn,
            SamplerConfig::ParentBasedAlwaysOff,
            SamplerConfig::ParentBasedTraceIdRatio(0.5),
        ];
        let parents = [None, Some(parent(true)), Some(parent(false))];
        let mut kept = 0;
        for config in configs {
            let sdk = config.to_sdk_sampler();
            for parent in &parents {
                let cx = parent
                    .clone()
                    .map(|p| Context::new().with_remote_span_context(p));
                for _ in 0..500 {
                    let trace_id = ids.new_trace_id();
                    let expected = sdk
                        .should_sample(cx.as_ref(), trace_id, "op", &SpanKind::Client, &[], &[])
                        .decision
                        == SamplingDecision::RecordAndSample;
                    assert_eq!(
                        config.samples(parent.as_ref(), trace_id),
                        expected,
                        "{config:?} {parent:?} {trace_id}"
                    );
                    kept += usize::from(expected);
                }
            }
        }
        // Both outcomes occurred, so the comparison covered both.
        assert!(kept > 0 && kept < configs.len() * parents.len() * 500);
    }
}
