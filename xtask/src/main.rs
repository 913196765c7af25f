//! The project's task runner, reached as `cargo xtask <task>`.
//!
//! Tasks install the system packages they need (on Debian/Ubuntu as root),
//! start the servers they need on free loopback ports, and stop them again,
//! also on failure, so a fresh machine needs no manual step.

mod bench;
mod build_checks;
mod demo;
mod system;

use std::process::{Command, ExitCode};

use memcached_harness::Memcached;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  test     fmt check, clippy -D warnings, `cargo package` of the workspace, `cargo check`
           of each crate's feature combinations and of fuzz/ and benches/peers,
           and every test, against a memcached it starts
  demo     run the traced square-root demo against memcached and the trace collector,
           then print the trace fetched back from the collector
           (--keep leaves both servers up until Ctrl-C; other flags go to sqrt-demo)
  bench    our client vs a blocking-socket floor, rust-memcache, async-memcached and
           pymemcache(+OTel) against a memcached it starts; prints ops/s and ratios;
           then the criterion benches (codec decoding, sqrt hit vs miss); the peers
           table runs pinned to one CPU (--cpu N picks it, --no-pin turns that off)
           (--rounds N, --scale F, --no-python, --peers-only, --cpu N, --no-pin)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("demo") => demo::demo(&args[1..]),
        Some("bench") => bench::bench(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask test [-- extra cargo test args]`.
fn test(extra: &[String]) -> Result<(), String> {
    system::ensure_test_packages()?;
    let server = Memcached::start().map_err(|e| format!("could not start memcached: {e}"))?;
    let addr = server.addr().to_string();
    eprintln!("xtask: memcached listening on {addr}");

    run(Command::new(cargo()).args(["fmt", "--all", "--", "--check"]))?;
    run(Command::new(cargo()).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    build_checks::packaging()?;
    build_checks::feature_combinations()?;
    build_checks::outside_workspace()?;
    // The client's pymemcache interop tests need a Python with pymemcache.
    let python = system::python_with_pymemcache(&target_dir().join("test-venv"))?;
    run(Command::new(cargo())
        .args(["test", "--workspace"])
        .args(extra)
        .env("MEMCACHED_ADDR", &addr)
        .env("MCC_PYTHON", &python))?;
    // The client's integration tests once more on multiplexed connections
    // (their helpers read the mode from this variable).
    run(Command::new(cargo())
        .args(["test", "-p", "memcache-client", "--tests"])
        .args(extra)
        .env("MEMCACHED_ADDR", &addr)
        .env("MCC_PYTHON", &python)
        .env("MCC_TEST_CONNECTION_MODE", "multiplexed"))?;
    // Typed values through serde (JSON, MessagePack): an optional feature.
    run(Command::new(cargo())
        .args(["test", "-p", "memcache-client", "--features", "serde"])
        .args(["--test", "typed_values", "--test", "pymemcache_interop"])
        .args(extra)
        .env("MEMCACHED_ADDR", &addr)
        .env("MCC_PYTHON", &python))?;
    // Metrics through bound instruments (feature `metrics-bound`), in both
    // connection modes.
    for mode in ["exclusive", "multiplexed"] {
        run(Command::new(cargo())
            .args([
                "test",
                "-p",
                "memcache-client",
                "--features",
                "metrics-bound",
            ])
            .args(["--test", "metrics"])
            .args(extra)
            .env("MEMCACHED_ADDR", &addr)
            .env("MCC_TEST_CONNECTION_MODE", mode))?;
    }
    // `server` drops here (and on every early return above): memcached stops.
    Ok(())
}

/// The workspace's top directory (xtask lives one below it).
fn workspace_root() -> std::path::PathBuf {
    let xtask = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

/// Where cargo puts build output: `CARGO_TARGET_DIR`, else `target/`.
fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}
