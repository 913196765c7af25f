//! The traced run: the seed's loop over numbers and rounds.

use sqrt_memo::{CanonicalDecimal, MemoError, MemoStore, SqrtMemo};
use tracing::{info_span, Instrument};

/// Name of the span that covers the whole run.
pub const ROOT_SPAN: &str = "MemcacheRustUsage";

/// What to do.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The numbers whose roots are computed, in order.
    pub numbers: Vec<CanonicalDecimal>,
    /// Fractional digits of each root.
    pub digits: u32,
    /// Leave the entries cached at the end instead of deleting them.
    pub no_cleanup: bool,
}

/// The seed's output line: `number ==> root`, the number left-aligned in
/// 100 columns as the seed's `%-100.10f` did, the root exact.
pub fn format_line(number: &str, root: &str) -> String {
    format!("{number:<100} ==> {root}")
}

/// Runs every number twice, printing each line as it is computed (through
/// `print`), then deletes the entries unless asked not to. Must be called
/// inside the root span (see the binary), so the spans form one trace.
pub async fn run<S: MemoStore>(
    memo: &SqrtMemo<S>,
    config: &RunConfig,
    mut print: impl FnMut(&str),
) -> Result<(), MemoError> {
    for number in &config.numbers {
        let text = number.as_str().to_string();
        let n = number.to_integer();
        let span = info_span!(
            "CalculateSquareRoot",
            otel.name = format!("CalculateSquareRoot-{text}"),
            sqrt.number.digits = text.len(),
        );
        async {
            for round in 1..=2u32 {
                let round_span = info_span!(
                    "Round",
                    otel.name = format!("Round-{round}"),
                    sqrt.source = tracing::field::Empty,
                );
                let outcome = memo
                    .sqrt(&n, config.digits)
                    .instrument(round_span.clone())
                    .await?;
                round_span.record("sqrt.source", outcome.source.as_str());
                print(&format_line(&text, &outcome.root.to_string()));
            }
            if !config.no_cleanup {
                memo.forget(&n, config.digits).await?;
            }
            Ok::<(), MemoError>(())
        }
        .instrument(span)
        .await?;
    }
    Ok(())
}
