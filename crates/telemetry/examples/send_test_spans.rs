//! Sends a small demo-shaped trace through the configured exporter and prints
//! the shutdown report: a quick check that a collector receives our spans.
//!
//! `cargo run -p traced-telemetry --example send_test_spans`
//! (honours OTEL_TRACES_EXPORTER, OTEL_EXPORTER_*_ENDPOINT, OTEL_SERVICE_NAME, RUST_LOG).

use std::process::ExitCode;

fn main() -> ExitCode {
    let telemetry = match traced_telemetry::builder("telemetry-example")
        .service_version(env!("CARGO_PKG_VERSION"))
        .install()
    {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("telemetry setup failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("exporting to {}", telemetry.config().exporter);

    tracing::info_span!("MemcacheRustUsage").in_scope(|| {
        for round in 1..=2 {
            tracing::info_span!("Round", round).in_scope(|| {
                tracing::info_span!(
                    "memcache.get",
                    otel.kind = "client",
                    db.system = "memcached"
                )
                .in_scope(|| tracing::info!(hit = round == 2, "looked up"));
            });
        }
    });

    match telemetry.shutdown() {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
