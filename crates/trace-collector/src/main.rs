//! `trace-collector`: run the collector, or print a stored trace as a tree.
//!
//! ```text
//! trace-collector [--listen ADDR] [--max-traces N] [--max-spans-per-trace N]
//!                 [--max-body-bytes N] [--persist FILE] [--autocomplete-keys K1,K2]
//! trace-collector print <TRACE_ID> [--url URL]
//! trace-collector latest [--service NAME] [--root NAME] [--url URL]
//! ```

use std::process::ExitCode;

use trace_collector::{render_latest, render_trace, Collector, TraceFilter};

const USAGE: &str = "\
usage:
  trace-collector [--listen ADDR] [--max-traces N] [--max-spans-per-trace N]
                  [--max-body-bytes N] [--persist FILE] [--autocomplete-keys K1,K2]
      run the collector (defaults: --listen 127.0.0.1:9411, the Zipkin port;
      1000 traces of at most 10000 spans; 8 MiB bodies; no span log;
      autocomplete for a few common tag keys, \"\" for none)
  trace-collector print <TRACE_ID> [--url URL]
      print one trace as an indented tree (default --url http://127.0.0.1:9411)
  trace-collector latest [--service NAME] [--root SPAN_NAME] [--url URL]
      print the newest matching trace as an indented tree";

const DEFAULT_URL: &str = "http://127.0.0.1:9411";

/// Settings for running the collector; unset ones keep the library defaults.
#[derive(Debug)]
struct ServeOptions {
    listen: String,
    max_traces: Option<usize>,
    max_spans_per_trace: Option<usize>,
    max_body_bytes: Option<usize>,
    persist: Option<String>,
    autocomplete_keys: Option<Vec<String>>,
}

/// Parsed command line.
#[derive(Debug)]
enum Command {
    Serve(ServeOptions),
    Print { trace_id: String, url: String },
    Latest { filter: TraceFilter, url: String },
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
    let command = match positional.first().map(String::as_str) {
        None => Command::Serve(ServeOptions {
            listen: take("--listen").unwrap_or_else(|| "127.0.0.1:9411".into()),
            max_traces: number("--max-traces", take("--max-traces"))?,
            max_spans_per_trace: number("--max-spans-per-trace", take("--max-spans-per-trace"))?,
            max_body_bytes: number("--max-body-bytes", take("--max-body-bytes"))?,
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
        if let Some(n) = options.max_body_bytes {
            builder = builder.max_body_bytes(n);
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
