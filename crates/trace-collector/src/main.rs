//! `trace-collector`: run the collector, or print a stored trace as a tree.
//!
//! ```text
//! trace-collector [--listen ADDR] [--max-traces N] [--max-spans-per-trace N]
//!                 [--max-bytes SIZE] [--max-value-bytes SIZE] [--max-body-bytes SIZE]
//!                 [--max-batch-bytes SIZE] [--max-metric-bytes SIZE] [--max-connections N]
//!                 [--header-timeout SECS] [--body-timeout SECS] [--write-timeout SECS]
//!                 [--ingest-token TOKEN] [--persist FILE]
//!                 [--autocomplete-keys K1,K2]
//! trace-collector print <TRACE_ID> [--url URL]
//! trace-collector latest [--service NAME] [--root NAME] [--url URL]
//! trace-collector metrics [--url URL]
//! ```

use std::process::ExitCode;
use std::time::Duration;

use trace_collector::{fetch_cache_metrics, render_latest, render_trace, Collector, TraceFilter};

const USAGE: &str = "\
usage:
  trace-collector [--listen ADDR] [--max-traces N] [--max-spans-per-trace N]
                  [--max-bytes SIZE] [--max-value-bytes SIZE] [--max-body-bytes SIZE]
                  [--max-batch-bytes SIZE] [--max-metric-bytes SIZE] [--max-connections N]
                  [--header-timeout SECS] [--body-timeout SECS] [--write-timeout SECS]
                  [--ingest-token TOKEN] [--persist FILE] [--autocomplete-keys K1,K2]
      run the collector (defaults: --listen 127.0.0.1:9411, the Zipkin port;
      1000 traces of at most 10000 spans within 128MiB; values cut at 64KiB;
      8MiB bodies decoding to at most 64MiB; metrics within 32MiB; 256 connections; 10 s for a
      request head, between requests and for a blocked write; 30 s for a
      body; no token; no span
      log). SIZE is bytes, or a number with KiB, MiB or GiB. The token may
      also come from $TRACE_COLLECTOR_INGEST_TOKEN. Autocomplete offers a few
      common tag keys by default, \"\" for none.
  trace-collector print <TRACE_ID> [--url URL]
      print one trace as an indented tree (default --url http://127.0.0.1:9411)
  trace-collector metrics [--url URL]
      print the cache's hit ratio and latency per operation from the metrics
      the collector holds (memcache-client's OpenTelemetry metrics)
  trace-collector latest [--service NAME] [--root SPAN_NAME] [--url URL]
      print the newest matching trace as an indented tree";

const DEFAULT_URL: &str = "http://127.0.0.1:9411";

/// Settings for running the collector; unset ones keep the library defaults.
#[derive(Debug)]
struct ServeOptions {
    listen: String,
    max_traces: Option<usize>,
    max_spans_per_trace: Option<usize>,
    max_bytes: Option<usize>,
    max_value_bytes: Option<usize>,
    max_body_bytes: Option<usize>,
    max_batch_bytes: Option<usize>,
    max_metric_bytes: Option<usize>,
    max_connections: Option<usize>,
    header_timeout: Option<Duration>,
    body_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    ingest_token: Option<String>,
    persist: Option<String>,
    autocomplete_keys: Option<Vec<String>>,
}

/// The environment variable read when `--ingest-token` is not given (a
/// token on the command line is visible to other local users).
const TOKEN_VARIABLE: &str = "TRACE_COLLECTOR_INGEST_TOKEN";

/// Parses a byte size: `1048576`, `512KiB`, `256MiB`, `1GiB` (also `K`,
/// `M`, `G`, `KB`, `MB`, `GB`, all powers of 1024).
fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    number.parse::<usize>().ok()?.checked_mul(1 << shift)
}

/// Parsed command line.
#[derive(Debug)]
enum Command {
    Serve(ServeOptions),
    Print {
        trace_id: String,
        url: String,
    },
    Latest {
        filter: TraceFilter,
        url: String,
    },
    /// Hit ratio and latency from the metrics held.
    Metrics {
        url: String,
    },
    Help,
}

fn parse(args: &[String]) -> Result<Command, String> {
    let mut rest = args.iter();
    let mut positional = Vec::new();
    let mut flags = std::collections::HashMap::new();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            flag if flag.starts_with("--") => {
                let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
                flags.insert(flag.to_owned(), value.clone());
            }
            _ => positional.push(arg.clone()),
        }
    }
    let mut take = |name: &str| flags.remove(name);
    let number = |name: &str, v: Option<String>| -> Result<Option<usize>, String> {
        v.map(|v| {
            v.parse()
                .map_err(|_| format!("{name} expects a number, got {v:?}"))
        })
        .transpose()
    };
    let size = |name: &str, v: Option<String>| -> Result<Option<usize>, String> {
        v.map(|v| {
            parse_size(&v).ok_or_else(|| format!("{name} expects a size such as 64MiB, got {v:?}"))
        })
        .transpose()
    };
    let seconds = |name: &str, v: Option<String>| -> Result<Option<Duration>, String> {
        v.map(|v| {
            v.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("{name} expects seconds (0 < s <= 3600), got {v:?}"))
        })
        .transpose()
    };
    let command = match positional.first().map(String::as_str) {
        None => Command::Serve(ServeOptions {
            listen: take("--listen").unwrap_or_else(|| "127.0.0.1:9411".into()),
            max_traces: number("--max-traces", take("--max-traces"))?,
            max_spans_per_trace: number("--max-spans-per-trace", take("--max-spans-per-trace"))?,
            max_bytes: size("--max-bytes", take("--max-bytes"))?,
            max_value_bytes: size("--max-value-bytes", take("--max-value-bytes"))?,
            max_body_bytes: size("--max-body-bytes", take("--max-body-bytes"))?,
            max_batch_bytes: size("--max-batch-bytes", take("--max-batch-bytes"))?,
            max_metric_bytes: size("--max-metric-bytes", take("--max-metric-bytes"))?,
            max_connections: number("--max-connections", take("--max-connections"))?,
            header_timeout: seconds("--header-timeout", take("--header-timeout"))?,
            body_timeout: seconds("--body-timeout", take("--body-timeout"))?,
            write_timeout: seconds("--write-timeout", take("--write-timeout"))?,
            ingest_token: take("--ingest-token")
                .or_else(|| std::env::var(TOKEN_VARIABLE).ok())
                .filter(|t| !t.is_empty()),
            persist: take("--persist"),
            autocomplete_keys: take("--autocomplete-keys").map(|keys| {
                keys.split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
        }),
        Some("print") => Command::Print {
            trace_id: positional.get(1).cloned().ok_or("print needs a trace id")?,
            url: take("--url").unwrap_or_else(|| DEFAULT_URL.into()),
        },
        Some("latest") => Command::Latest {
            filter: TraceFilter {
                service_name: take("--service"),
                root_span_name: take("--root"),
            },
            url: take("--url").unwrap_or_else(|| DEFAULT_URL.into()),
        },
        Some("metrics") => Command::Metrics {
            url: take("--url").unwrap_or_else(|| DEFAULT_URL.into()),
        },
        Some(other) => return Err(format!("unknown command {other:?}")),
    };
    match flags.keys().next() {
        Some(unknown) => Err(format!("unknown or misplaced option {unknown}")),
        None => Ok(command),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("trace-collector: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            println!("{USAGE}");
            Ok(())
        }
        Command::Print { trace_id, url } => render_trace(&url, &trace_id)
            .map(|t| print!("{t}"))
            .map_err(|e| e.to_string()),
        Command::Latest { filter, url } => render_latest(&url, &filter)
            .map(|t| print!("{t}"))
            .map_err(|e| e.to_string()),
        Command::Metrics { url } => fetch_cache_metrics(&url)
            .map(|m| print!("{m}"))
            .map_err(|e| e.to_string()),
        Command::Serve(options) => serve(options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trace-collector: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(options: ServeOptions) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    trace_collector::malloc::limit_arenas();
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start runtime: {e}"))?;
    runtime.block_on(async move {
        let mut builder = Collector::builder();
        if let Some(n) = options.max_traces {
            builder = builder.max_traces(n);
        }
        if let Some(n) = options.max_spans_per_trace {
            builder = builder.max_spans_per_trace(n);
        }
        if let Some(n) = options.max_bytes {
            builder = builder.max_bytes(n);
        }
        if let Some(n) = options.max_value_bytes {
            builder = builder.max_value_bytes(n);
        }
        if let Some(n) = options.max_body_bytes {
            builder = builder.max_body_bytes(n);
        }
        if let Some(n) = options.max_batch_bytes {
            builder = builder.max_batch_bytes(n);
        }
        if let Some(n) = options.max_metric_bytes {
            builder = builder.max_metric_bytes(n);
        }
        if let Some(n) = options.max_connections {
            builder = builder.max_connections(n);
        }
        if let Some(t) = options.header_timeout {
            builder = builder.header_timeout(t);
        }
        if let Some(t) = options.body_timeout {
            builder = builder.body_timeout(t);
        }
        if let Some(t) = options.write_timeout {
            builder = builder.write_timeout(t);
        }
        let has_token = options.ingest_token.is_some();
        if let Some(token) = options.ingest_token {
            builder = builder.ingest_token(token);
        }
        if let Some(keys) = options.autocomplete_keys {
            builder = builder.autocomplete_keys(keys);
        }
        if let Some(path) = options.persist {
            builder = builder.persist_path(path);
        }
        let running = builder
            .bind(options.listen.as_str())
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "trace collector on {}  (Zipkin: {}, OTLP: {})",
            running.base_url(),
            running.zipkin_endpoint(),
            running.otlp_endpoint()
        );
        if !running.addr().ip().is_loopback() && !has_token {
            eprintln!(
                "warning: listening beyond loopback without --ingest-token: \
                 anyone who can reach {} can post spans",
                running.addr()
            );
        }
        // Spans are written to the log as they arrive, so SIGTERM loses nothing either.
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
        eprintln!("shutting down");
        running.shutdown().await.map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_serve_flags() {
        match parse(&args(
            "--listen 0.0.0.0:1 --max-traces 5 --persist /tmp/x --autocomplete-keys a,,b",
        ))
        .unwrap()
        {
            Command::Serve(o) => {
                assert_eq!(o.autocomplete_keys, Some(vec!["a".into(), "b".into()]));
                assert_eq!(o.listen, "0.0.0.0:1");
                assert_eq!(o.max_traces, Some(5));
                assert_eq!(o.max_spans_per_trace, None);
                assert_eq!(o.persist.as_deref(), Some("/tmp/x"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_limits() {
        let line = "--max-bytes 64MiB --max-value-bytes 4096 --header-timeout 2.5 \
                    --max-connections 8 --ingest-token abc --body-timeout 1";
        match parse(&args(line)).unwrap() {
            Command::Serve(o) => {
                assert_eq!(o.max_bytes, Some(64 << 20));
                assert_eq!(o.max_value_bytes, Some(4096));
                assert_eq!(o.header_timeout, Some(Duration::from_millis(2500)));
                assert_eq!(o.body_timeout, Some(Duration::from_secs(1)));
                assert_eq!(o.max_connections, Some(8));
                assert_eq!(o.ingest_token.as_deref(), Some("abc"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size("12 MB"), Some(12 << 20));
        for bad in ["", "MiB", "1.5MiB", "1TiB", "-1", "99999999999999999999GiB"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
        assert!(parse(&args("--max-bytes lots")).is_err());
        assert!(parse(&args("--header-timeout 0")).is_err());
        assert!(parse(&args("--header-timeout nan")).is_err());
    }

    #[test]
    fn parses_print_and_rejects_junk() {
        assert!(matches!(
            parse(&args("print abc --url http://x")).unwrap(),
            Command::Print { .. }
        ));
        assert!(parse(&args("print")).is_err());
        assert!(parse(&args("--max-traces many")).is_err());
        assert!(parse(&args("print abc --bogus 1")).is_err());
    }
}
