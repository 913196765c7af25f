//! `sqrt-memo-worker`: one process asking memcached for one square root.
//!
//! Used by the multi-process single-flight test (and handy for demos): many
//! copies started at once against one memcached and one cold key must
//! compute the root exactly once between them. Prints one line:
//! `computed=<bool> source=<source> root_sha256=<hex> root_prefix=<first digits>`.
//!
//! Usage: `sqrt-memo-worker --addr 127.0.0.1:11211 (--number <decimal> |
//! --number-file <path>) [--digits N] [--start-at-unix-ms T] [--max-wait-ms M]`,
//! storing through the traced `memcache-client`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use memcache_client::Client;
use sha2::{Digest, Sha256};
use sqrt_memo::{MemoConfig, MemoStore, SqrtMemo};

struct Args {
    addr: SocketAddr,
    number: String,
    digits: u32,
    start_at_unix_ms: Option<u64>,
    max_wait: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut addr = None;
    let mut number = None;
    let mut digits = 0;
    let mut start_at_unix_ms = None;
    let mut max_wait = MemoConfig::default().max_wait;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => addr = Some(value()?.parse().map_err(|e| format!("--addr: {e}"))?),
            "--number" => number = Some(value()?),
            "--number-file" => {
                let path = value()?;
                number = Some(std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?);
            }
            "--digits" => digits = value()?.parse().map_err(|e| format!("--digits: {e}"))?,
            "--start-at-unix-ms" => {
                start_at_unix_ms = Some(
                    value()?
                        .parse()
                        .map_err(|e| format!("--start-at-unix-ms: {e}"))?,
                )
            }
            "--max-wait-ms" => {
                max_wait = Duration::from_millis(
                    value()?
                        .parse()
                        .map_err(|e| format!("--max-wait-ms: {e}"))?,
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        addr: addr.ok_or("--addr is required")?,
        number: number.ok_or("--number or --number-file is required")?,
        digits,
        start_at_unix_ms,
        max_wait,
    })
}

/// Sleeps until the shared start time, so all workers ask at once.
async fn wait_for_start(start_at_unix_ms: u64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    if start_at_unix_ms > now {
        tokio::time::sleep(Duration::from_millis(start_at_unix_ms - now)).await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("sqrt-memo-worker: {e}");
            return ExitCode::from(2);
        }
    };
    let config = MemoConfig {
        max_wait: args.max_wait,
        verify_hits: true,
        ..MemoConfig::default()
    };
    match Client::connect(&args.addr.to_string()) {
        Ok(client) => run(SqrtMemo::new(client, config), &args).await,
        Err(e) => {
            eprintln!("sqrt-memo-worker: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run<S: MemoStore>(memo: SqrtMemo<S>, args: &Args) -> ExitCode {
    if let Some(at) = args.start_at_unix_ms {
        wait_for_start(at).await;
    }
    match memo.sqrt_text(&args.number, args.digits).await {
        Ok(outcome) => {
            let text = outcome.root.to_string();
            let digest = Sha256::digest(text.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            let prefix: String = text.chars().take(40).collect();
            println!(
                "computed={} source={} root_sha256={hex} root_prefix={prefix}",
                outcome.source.computed(),
                outcome.source.as_str()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sqrt-memo-worker: {e}");
            ExitCode::FAILURE
        }
    }
}
