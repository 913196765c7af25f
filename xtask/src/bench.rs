//! `cargo xtask bench`: our client against the blocking-socket floor and
//! peer clients, printed as one table of ops/s and ratios.
//!
//! Steps: start memcached on a free loopback port; build `benches/peers`
//! (its own workspace, so the peer crates never enter the main build) in
//! release mode; run `benches/peers/pymemcache_bench.py` in a venv under
//! the target directory (skipped with a note when Python or PyPI is not
//! available); run the Rust bench, which alternates its systems round by
//! round, merges the Python figures and prints the table with the key
//! ratios. Python runs before the Rust measurements only so that one
//! program prints the single table; the two never run at the same time.
//!
//! Then the workspace's criterion benches run against the same memcached:
//! `codec_decode` and `sqrt_hit_vs_miss` (the sqrt engine's hit versus miss).
//!
//! Flags: `--rounds N`, `--scale F` (operations per round), `--no-python`,
//! `--peers-only` (skip the criterion benches).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use memcached_harness::Memcached;

use crate::{cargo, run, system, target_dir, workspace_root};

/// PyPI packages of the Python part.
const PYTHON_PACKAGES: &[&str] = &[
    "pymemcache",
    "opentelemetry-sdk",
    "opentelemetry-instrumentation-pymemcache",
];

struct Options {
    rounds: String,
    scale: String,
    python: bool,
    criterion: bool,
}

pub fn bench(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    system::ensure_run_packages()?;
    let root = workspace_root();
    let manifest = root.join("benches/peers/Cargo.toml");
    let target = target_dir().join("peers-bench");
    run(Command::new(cargo())
        .args(["build", "--release", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target))?;

    let server = Memcached::start().map_err(|e| format!("could not start memcached: {e}"))?;
    let addr = server.addr().to_string();
    eprintln!("xtask: memcached listening on {addr}");

    let mut bench = Command::new(target.join("release/peers-bench"));
    bench.args([
        "--addr",
        &addr,
        "--rounds",
        &options.rounds,
        "--scale",
        &options.scale,
    ]);
    if options.python {
        match python_results(&root, &addr, &options) {
            Ok(results) => bench.arg("--python").arg(results),
            Err(reason) => {
                eprintln!("xtask: skipping the Python part: {reason}");
                bench.args(["--python-note", &format!("skipped: {reason}")])
            }
        };
    } else {
        bench.args(["--python-note", "skipped (--no-python)"]);
    }
    run(&mut bench)?;

    if options.criterion {
        // The workspace's own criterion benches, on the same server: codec
        // decoding speed and the sqrt engine's hit versus miss.
        for name in ["codec_decode", "sqrt_hit_vs_miss"] {
            run(Command::new(cargo())
                .args(["bench", "--bench", name, "--"])
                .args(["--warm-up-time", "1", "--measurement-time", "3"])
                .env("MEMCACHED_ADDR", &addr))?;
        }
    }
    // `server` drops here (and on every early return above): memcached stops.
    Ok(())
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        rounds: "15".to_string(),
        scale: "1".to_string(),
        python: true,
        criterion: true,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => options.rounds = value(arg, args.next())?,
            "--scale" => options.scale = value(arg, args.next())?,
            "--no-python" => options.python = false,
            "--peers-only" => options.criterion = false,
            other => return Err(format!("bench: unknown argument `{other}`")),
        }
    }
    Ok(options)
}

fn value(flag: &str, value: Option<&String>) -> Result<String, String> {
    value
        .cloned()
        .ok_or_else(|| format!("bench: {flag} needs a value"))
}

/// Creates the venv (once), runs the script, returns the path of its JSON.
fn python_results(root: &Path, addr: &str, options: &Options) -> Result<PathBuf, String> {
    let venv = target_dir().join("bench-venv");
    let python = venv.join("bin/python");
    let installed = venv.join(".packages-installed");
    if !installed.exists() {
        let created = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .map_err(|e| format!("python3 not found ({e})"))?;
        if !created.success() {
            return Err(format!("python3 -m venv failed ({created})"));
        }
        let pip = Command::new(&python)
            .args(["-m", "pip", "install", "-q"])
            .args(PYTHON_PACKAGES)
            .status()
            .map_err(|e| format!("pip: {e}"))?;
        if !pip.success() {
            return Err(format!(
                "pip install {} failed ({pip})",
                PYTHON_PACKAGES.join(" ")
            ));
        }
        std::fs::write(&installed, PYTHON_PACKAGES.join("\n"))
            .map_err(|e| format!("{}: {e}", installed.display()))?;
    }
    eprintln!("xtask: running pymemcache_bench.py");
    let output = Command::new(&python)
        .arg(root.join("benches/peers/pymemcache_bench.py"))
        .args([
            "--addr",
            addr,
            "--rounds",
            &options.rounds,
            "--scale",
            &options.scale,
        ])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("pymemcache_bench.py: {e}"))?;
    if !output.status.success() {
        return Err(format!("pymemcache_bench.py failed ({})", output.status));
    }
    let results = venv.join("pymemcache-results.json");
    std::fs::write(&results, &output.stdout).map_err(|e| format!("{}: {e}", results.display()))?;
    Ok(results)
}
