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
//! The peers table runs with memcached and every benchmarked client pinned
//! to one CPU (`taskset`), by default the last one. On a small, shared
//! machine, unpinned loopback figures measure where the scheduler happens
//! to put the client and the server more than the client: a reply handed
//! to a thread on another CPU waits for that CPU to wake up, and rounds of
//! the same system differed by 2x in our runs. On one CPU a round costs the
//! CPU time of client, server and kernel, so the ratios compare what each
//! client costs per operation, and they repeat within a few percent.
//!
//! Flags: `--rounds N`, `--scale F` (operations per round), `--no-python`,
//! `--peers-only` (skip the criterion benches), `--cpu N` (pin to CPU N),
//! `--no-pin` (let the scheduler place everything).

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
    /// The CPU the peers table runs on; `None` leaves placement to the
    /// scheduler.
    cpu: Option<String>,
}

pub fn bench(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    system::ensure_bench_packages()?;
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
    let pinning = match &options.cpu {
        Some(cpu) => {
            set_affinity(&server, cpu)?;
            eprintln!("xtask: memcached and the benchmarked clients run on CPU {cpu}");
            format!("pinned: memcached and every client on CPU {cpu} (taskset)")
        }
        None => "not pinned (--no-pin): placement left to the scheduler".to_string(),
    };

    let mut bench = pinned(&options, target.join("release/peers-bench"));
    bench.args(["--note", &pinning]);
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
    if options.cpu.is_some() {
        // The criterion benches below run unpinned, as before: memcached
        // may use every CPU again.
        set_affinity(&server, &format!("0-{}", last_cpu()))?;
    }

    if options.criterion {
        // The workspace's own criterion benches, on the same server: codec
        // decoding speed and the sqrt engine's hit versus miss.
        for name in ["codec_decode", "sqrt_hit_vs_miss"] {
            run(Command::new(cargo())
                .args(["bench", "--bench", name, "--"])
                .args(["--warm-up-time", "1", "--measurement-time", "3"])
                .env("MEMCACHED_ADDR", &addr))?;
        }
        print_sqrt_key_ratios();
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
        cpu: Some(last_cpu()),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => options.rounds = value(arg, args.next())?,
            "--scale" => options.scale = value(arg, args.next())?,
            "--no-python" => options.python = false,
            "--peers-only" => options.criterion = false,
            "--cpu" => options.cpu = Some(value(arg, args.next())?),
            "--no-pin" => options.cpu = None,
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
    let output = pinned(options, &python)
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

/// `program`, run under `taskset -c CPU` when pinning.
fn pinned(options: &Options, program: impl AsRef<std::ffi::OsStr>) -> Command {
    match &options.cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.args(["-c", cpu]).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// Moves every thread of the running memcached to `cpus` (a `taskset`
/// list such as `1` or `0-1`).
fn set_affinity(server: &Memcached, cpus: &str) -> Result<(), String> {
    let pid = server.pid().ok_or("memcached is not running")?.to_string();
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("taskset (util-linux) is needed to pin, or use --no-pin: {e}"))?;
    if !status.success() {
        return Err(format!("taskset -a -p -c {cpus} {pid} failed ({status})"));
    }
    Ok(())
}

/// The highest CPU number this process may run on.
fn last_cpu() -> String {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    (cpus - 1).to_string()
}

/// The sqrt hit goals (issue 18), from the medians criterion just wrote:
/// an authenticated hit within 3x a raw `get` of the same bytes, a verified
/// hit at most 0.15x of computing at 10^6 digits.
fn print_sqrt_key_ratios() {
    let median = |row: &str, digits: u32| -> Option<f64> {
        let path = target_dir()
            .join("criterion/sqrt")
            .join(row)
            .join(digits.to_string())
            .join("new/estimates.json");
        let text = std::fs::read_to_string(path).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        json["median"]["point_estimate"].as_f64()
    };
    let ratio = |a: &str, b: &str, digits: u32| Some(median(a, digits)? / median(b, digits)?);
    println!("\nsqrt key ratios (criterion medians, unpinned)");
    let checks = [
        ("hit_authenticated", "raw_get", 100_000, 3.0),
        ("hit_authenticated", "raw_get", 1_000_000, 3.0),
        ("hit_verified", "compute", 1_000_000, 0.15),
    ];
    for (a, b, digits, limit) in checks {
        let name = format!("{a} / {b} at {digits} digits");
        match ratio(a, b, digits) {
            Some(v) => {
                let verdict = if v <= limit { "PASS" } else { "MISS" };
                println!("  {verdict}  {name:<60} {v:>8.3}  (target <= {limit})");
            }
            None => println!("  n/a   {name:<60} {:>8}  (target <= {limit})", "-"),
        }
    }
    for digits in [100_000, 1_000_000] {
        let value = ratio("hit_verified_squaring", "compute", digits)
            .map_or("-".to_string(), |v| format!("{v:.3}"));
        println!(
            "  context: hit_verified_squaring / compute at {digits} digits (no stored remainder) {value}"
        );
    }
}
