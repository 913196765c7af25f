//! `cargo xtask demo`: memcached + trace collector + the traced sqrt demo,
//! then the trace, fetched back from the collector, as a tree.
//!
//! Every process started here is stopped when the task ends (memcached and
//! the collector also die with this process, through the parent-death
//! signal), unless `--keep` asks to leave them up for browsing until Ctrl-C.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use memcached_harness::{die_with_parent, free_port, wait_listening, Memcached};

use crate::{cargo, run, system, target_dir};

/// How long the collector may take to accept connections.
const COLLECTOR_START: Duration = Duration::from_secs(15);
/// How long the exported trace may take to show up in the collector.
const TRACE_ARRIVAL: Duration = Duration::from_secs(20);
/// The line the demo prints to name its trace (see `sqrt-demo`).
const TRACE_ID_PREFIX: &str = "trace id: ";

/// A child process killed when dropped.
struct Managed {
    name: &'static str,
    child: Child,
}

impl Drop for Managed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("xtask: stopped {}", self.name);
    }
}

pub fn demo(args: &[String]) -> Result<(), String> {
    let keep = args.iter().any(|a| a == "--keep");
    let demo_args: Vec<&String> = args.iter().filter(|a| *a != "--keep").collect();

    system::ensure_run_packages()?;
    eprintln!(
        "xtask: building sqrt-demo and trace-collector (first build takes a few minutes) ..."
    );
    run(Command::new(cargo()).args(["build", "-p", "sqrt-demo", "-p", "trace-collector"]))?;
    let bin = target_dir().join("debug");

    eprintln!("xtask: starting memcached ...");
    let memcached = Memcached::start().map_err(|e| format!("memcached did not start: {e}"))?;
    eprintln!("xtask: memcached listening on {}", memcached.addr());

    let port = free_port().map_err(|e| format!("no free port for the collector: {e}"))?;
    let collector_addr = SocketAddr::from(([127, 0, 0, 1], port));
    let collector_url = format!("http://{collector_addr}");
    eprintln!("xtask: starting the trace collector on {collector_url} ...");
    let collector = start_collector(&bin.join("trace-collector"), collector_addr)?;

    eprintln!("xtask: running sqrt-demo ...\n");
    let trace_id = run_demo(
        &bin.join("sqrt-demo"),
        &memcached,
        &collector_url,
        &demo_args,
    )?;

    eprintln!("\nxtask: fetching trace {trace_id} back from the collector ...");
    let tree = fetch_tree(&bin.join("trace-collector"), &collector_url, &trace_id)?;
    println!("\nTrace {trace_id}, as stored by the collector:\n{tree}");
    println!("Web view: {collector_url}/#/trace/{trace_id}");
    match metrics_summary(&bin.join("trace-collector"), &collector_url) {
        Ok(summary) => {
            println!("\nCache metrics, as the collector holds them:\n{summary}");
            println!("Metrics page: {collector_url}/#/metrics");
        }
        Err(e) => eprintln!("xtask: no metrics summary: {e}"),
    }

    if keep {
        println!(
            "\nmemcached ({}) and the collector ({collector_url}) keep running; Ctrl-C stops them.",
            memcached.addr()
        );
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    drop(collector);
    drop(memcached);
    Ok(())
}

fn start_collector(bin: &Path, addr: SocketAddr) -> Result<Managed, String> {
    let mut cmd = Command::new(bin);
    cmd.args(["--listen", &addr.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    die_with_parent(&mut cmd);
    let child = cmd
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", bin.display()))?;
    let mut managed = Managed {
        name: "the trace collector",
        child,
    };
    if wait_listening(addr, &mut managed.child, COLLECTOR_START) {
        return Ok(managed);
    }
    Err(match managed.child.try_wait() {
        Ok(Some(status)) => {
            format!("the trace collector exited at start ({status}); is {addr} in use?")
        }
        _ => format!(
            "the trace collector did not accept connections on {addr} within {COLLECTOR_START:?}"
        ),
    })
}

/// Runs the demo, echoing its output, and returns the trace id it printed.
fn run_demo(
    bin: &Path,
    memcached: &Memcached,
    collector_url: &str,
    extra: &[&String],
) -> Result<String, String> {
    let mut child = Command::new(bin)
        .args(["--memcached", &memcached.addr().to_string()])
        .args(extra)
        .env("OTEL_TRACES_EXPORTER", "zipkin")
        .env(
            "OTEL_EXPORTER_ZIPKIN_ENDPOINT",
            format!("{collector_url}/api/v2/spans"),
        )
        // The client's metrics go to the collector too (OTLP/HTTP).
        .env("OTEL_METRICS_EXPORTER", "otlp")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector_url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", bin.display()))?;
    let mut trace_id = None;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line.map_err(|e| format!("reading the demo's output: {e}"))?;
            if let Some(id) = line.strip_prefix(TRACE_ID_PREFIX) {
                trace_id = Some(id.trim().to_string());
            }
            println!("{line}");
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for the demo: {e}"))?;
    if !status.success() {
        return Err(format!("sqrt-demo failed ({status})"));
    }
    trace_id.ok_or_else(|| "sqrt-demo did not print its trace id".to_string())
}

/// The hit ratio and latency per operation the collector computed from the
/// demo's metrics (its own `metrics` command).
fn metrics_summary(bin: &Path, collector_url: &str) -> Result<String, String> {
    let out = Command::new(bin)
        .args(["metrics", "--url", collector_url])
        .output()
        .map_err(|e| format!("could not run {}: {e}", bin.display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// Polls the collector (through its own `print` command) until the trace
/// is there.
fn fetch_tree(bin: &Path, collector_url: &str, trace_id: &str) -> Result<String, String> {
    let deadline = Instant::now() + TRACE_ARRIVAL;
    loop {
        let out = Command::new(bin)
            .args(["print", trace_id, "--url", collector_url])
            .output()
            .map_err(|e| format!("could not run {}: {e}", bin.display()))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "trace {trace_id} did not reach the collector within {TRACE_ARRIVAL:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}
