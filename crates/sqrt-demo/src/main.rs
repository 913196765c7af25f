//! `sqrt-demo`: square roots of huge numbers, memoized in memcached, traced.
//!
//! ```text
//! sqrt-demo [--memcached HOST:PORT]... [--digits N] [--numbers-file FILE]
//!           [--exporter zipkin|otlp|none] [--no-cleanup] [NUMBER]...
//! ```
//! The exporter's endpoint comes from the standard variables
//! (`OTEL_EXPORTER_ZIPKIN_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT`).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use memcache_client::Client;
use sqrt_demo::numbers::{lines_of, parse_all, SEED_NUMBERS};
use sqrt_demo::{run, RunConfig, ROOT_SPAN};
use sqrt_memo::{Limits, MemoConfig, SqrtMemo};

/// Largest `--numbers-file` read (64 MiB: thirty numbers at the default
/// limit of two million digits).
const MAX_NUMBERS_FILE_BYTES: u64 = 64 << 20;
use traced_telemetry::opentelemetry::trace::TraceContextExt;
use traced_telemetry::{EnvVars, OpenTelemetrySpanExt, OTEL_TRACES_EXPORTER};
use tracing::Instrument;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Exact square roots of huge numbers, memoized in memcached, traced"
)]
struct Args {
    /// memcached server(s), host:port; repeat for several.
    #[arg(long = "memcached", default_value = "127.0.0.1:11211")]
    servers: Vec<String>,
    /// Fractional digits of each root (exact, truncated; at most 1,000,000).
    #[arg(long, default_value_t = 10)]
    digits: u32,
    /// Read the numbers from a file (one per line, `#` comments; at most
    /// 64 MiB, each number at most 2,000,000 digits).
    #[arg(long)]
    numbers_file: Option<std::path::PathBuf>,
    /// Trace exporter; defaults to OTEL_TRACES_EXPORTER, else zipkin.
    #[arg(long, value_parser = ["zipkin", "otlp", "none"])]
    exporter: Option<String>,
    /// Leave the entries cached at the end.
    #[arg(long)]
    no_cleanup: bool,
    /// Numbers to take the roots of (default: the seed's five).
    numbers: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sqrt-demo: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async_main(args))
}

async fn async_main(args: Args) -> ExitCode {
    let config = match run_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sqrt-demo: {e}");
            return ExitCode::from(2);
        }
    };
    let telemetry = match telemetry(&args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("sqrt-demo: telemetry setup failed: {e}");
            return ExitCode::FAILURE;
        }
    };

    let root = tracing::info_span!(ROOT_SPAN, otel.name = ROOT_SPAN);
    let trace_id = root.context().span().span_context().trace_id();
    let outcome = work(&args, &config).instrument(root).await;

    println!("Sending all pending spans before terminating.");
    let mut code = ExitCode::SUCCESS;
    match telemetry.shutdown_async().await {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("sqrt-demo: flushing spans failed: {e}");
            code = ExitCode::FAILURE;
        }
    }
    println!("trace id: {trace_id}");
    if let Err(e) = outcome {
        eprintln!("sqrt-demo: {e}");
        code = ExitCode::FAILURE;
    }
    code
}

async fn work(args: &Args, config: &RunConfig) -> Result<(), String> {
    let mut builder = Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(10));
    for server in &args.servers {
        builder = builder.server(server);
    }
    let client = builder
        .build()
        .map_err(|e| format!("memcached client: {e}"))?;
    let memo = SqrtMemo::new(client, MemoConfig::default());
    run(&memo, config, |line| println!("{line}"))
        .await
        .map_err(|e| e.to_string())
}

fn run_config(args: &Args) -> Result<RunConfig, String> {
    let limits = Limits::default();
    if args.digits > limits.max_digits {
        return Err(format!(
            "--digits {} is more than the limit of {} fractional digits",
            args.digits, limits.max_digits
        ));
    }
    let file_text = match &args.numbers_file {
        Some(path) => Some(read_numbers_file(path)?),
        None => None,
    };
    let mut texts: Vec<&str> = args.numbers.iter().map(String::as_str).collect();
    if let Some(text) = &file_text {
        texts.extend(lines_of(text));
    }
    if texts.is_empty() {
        texts.extend(SEED_NUMBERS);
    }
    Ok(RunConfig {
        numbers: parse_all(texts)?,
        digits: args.digits,
        no_cleanup: args.no_cleanup,
    })
}

/// The numbers file, refused past [`MAX_NUMBERS_FILE_BYTES`] without
/// reading further (`/dev/zero` is a file too).
fn read_numbers_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_NUMBERS_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_NUMBERS_FILE_BYTES {
        return Err(format!(
            "{} is larger than the limit of {} MiB for a numbers file",
            path.display(),
            MAX_NUMBERS_FILE_BYTES >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

fn telemetry(args: &Args) -> Result<traced_telemetry::TelemetryGuard, String> {
    let mut env = EnvVars::from_process();
    if let Some(kind) = &args.exporter {
        // The flag stands for the variable and wins over it.
        env = env.with(OTEL_TRACES_EXPORTER, kind);
    }
    traced_telemetry::builder("sqrt-demo")
        .service_version(env!("CARGO_PKG_VERSION"))
        .env(env)
        .install()
        .map_err(|e| e.to_string())
}
