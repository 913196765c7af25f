//! `peers-bench`: throughput of `memcache-client` against a hand-written
//! blocking-socket floor and peer clients, in one process, rounds
//! alternating between systems so machine noise hits all alike; prints one
//! table with ratios. Normally run by `cargo xtask bench`.
//!
//! ```text
//! peers-bench [--addr HOST:PORT] [--rounds N] [--scale F]
//!             [--python RESULTS.json | --python-note TEXT] [--note TEXT]...
//!             [--workload ID]... [--system NAME-PART]   (for profiling)
//! ```
//!
//! Without `--addr` it starts its own memcached. `--python` merges the
//! results of `pymemcache_bench.py` (JSON: `{"systems": {name: {workload:
//! ops/s}}, "notes": [...]}`) into the table.

mod async_floor;
mod async_memcached;
mod floor;
mod libmemcached;
mod ours;
mod report;
mod rust_memcache;
mod system;
mod tracing_modes;
mod workload;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use floor::{Floor, RawConn};
use memcache_client::ConnectionMode::{Exclusive, Multiplexed};
use report::{External, Results};
use system::{BenchError, System};
use tracing_modes::TracingMode;
use workload::{Data, Workload};

struct Options {
    addr: Option<SocketAddr>,
    rounds: usize,
    scale: f64,
    python: Option<String>,
    python_note: Option<String>,
    /// Printed under the table (how the run was set up, e.g. CPU pinning).
    notes: Vec<String>,
    /// Only these workloads (ids), for profiling; all when empty.
    workloads: Vec<String>,
    /// Only systems whose name contains this, for profiling.
    system: Option<String>,
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)).and_then(bench) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peers-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, BenchError> {
    let mut options = Options {
        addr: None,
        rounds: 15,
        scale: 1.0,
        python: None,
        python_note: None,
        notes: Vec::new(),
        workloads: Vec::new(),
        system: None,
    };
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| BenchError::Usage(format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--addr" => {
                let v = value()?;
                options.addr = Some(
                    v.parse()
                        .map_err(|_| BenchError::Usage(format!("bad address {v}")))?,
                );
            }
            "--rounds" => {
                let v = value()?;
                options.rounds = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| BenchError::Usage(format!("bad round count {v}")))?;
            }
            "--scale" => {
                let v = value()?;
                options.scale = v
                    .parse()
                    .ok()
                    .filter(|&f: &f64| f > 0.0)
                    .ok_or_else(|| BenchError::Usage(format!("bad scale {v}")))?;
            }
            "--python" => options.python = Some(value()?),
            "--python-note" => options.python_note = Some(value()?),
            "--note" => options.notes.push(value()?),
            "--workload" => options.workloads.push(value()?),
            "--system" => options.system = Some(value()?),
            other => return Err(BenchError::Usage(format!("unknown argument {other}"))),
        }
    }
    Ok(options)
}

fn bench(options: Options) -> Result<(), BenchError> {
    let (external, mut notes) = python_results(&options)?;
    notes.extend(options.notes.iter().cloned());
    // Kept alive until the end when we started the server ourselves.
    let mut own_server = None;
    let addr = match options.addr {
        Some(addr) => addr,
        None => {
            let server = memcached_harness::Memcached::start()?;
            let addr = server.addr();
            own_server = Some(server);
            addr
        }
    };
    let data = Arc::new(Data::new());
    warm(addr, &data)?;

    let mut systems: Vec<Box<dyn System>> = vec![
        Box::new(Floor::new(addr, data.clone())?),
        Box::new(async_floor::AsyncFloor::new(addr, data.clone())?),
        Box::new(ours::Ours::new(
            addr,
            TracingMode::Off,
            Exclusive,
            data.clone(),
        )?),
        Box::new(ours::Ours::new(
            addr,
            TracingMode::DisabledByLevel,
            Exclusive,
            data.clone(),
        )?),
        Box::new(ours::Ours::new(
            addr,
            TracingMode::AlwaysOn,
            Exclusive,
            data.clone(),
        )?),
        Box::new(ours::Ours::new(
            addr,
            TracingMode::RegistryOnly,
            Exclusive,
            data.clone(),
        )?),
        Box::new(ours::Ours::new(
            addr,
            TracingMode::EmptySpans,
            Exclusive,
            data.clone(),
        )?),
        Box::new(ours::Ours::new(
            addr,
            TracingMode::Off,
            Multiplexed,
            data.clone(),
        )?),
        Box::new(ours::Ours::new(
            addr,
            TracingMode::AlwaysOn,
            Multiplexed,
            data.clone(),
        )?),
        Box::new(rust_memcache::RustMemcache::new(addr, data.clone())?),
        Box::new(async_memcached::AsyncMemcached::new(addr, data.clone())?),
        Box::new(libmemcached::Libmemcached::new(addr, data.clone())?),
        // Last: these install a global meter provider before building their
        // clients; every client above was built before, with no-op
        // instruments (see ours.rs).
        Box::new(ours::Ours::with_metrics(addr, Exclusive, data.clone())?),
        Box::new(ours::Ours::with_metrics(addr, Multiplexed, data.clone())?),
    ];
    if let Some(wanted) = &options.system {
        // `=name` keeps exactly that system; `name` every one containing it.
        systems.retain(|s| match wanted.strip_prefix('=') {
            Some(exact) => s.name() == exact,
            None => s.name().contains(wanted.as_str()),
        });
    }
    let mut results = Results::default();
    let ids: Vec<usize> = systems
        .iter()
        .map(|s| results.add_system(s.name()))
        .collect();

    eprintln!(
        "peers-bench: memcached at {addr}; {} rounds x {} systems per workload",
        options.rounds,
        systems.len()
    );
    let workloads = Workload::ALL.into_iter().filter(|w| {
        options.workloads.is_empty() || options.workloads.iter().any(|id| id == w.id())
    });
    for workload in workloads {
        let ops = workload.ops(options.scale);
        // One unmeasured pass: pools filled, caches and branch predictors warm.
        for system in systems.iter_mut() {
            system.run(workload, (ops / 10).max(10))?;
        }
        for round in 0..options.rounds * workload.round_factor() {
            // Rotate who goes first, so no system always follows the same one.
            for k in 0..systems.len() {
                let i = (round + k) % systems.len();
                let elapsed = systems[i].run(workload, ops)?;
                results.record(ids[i], workload, ops as f64 / elapsed.as_secs_f64());
            }
        }
        eprintln!("peers-bench: {workload} done");
    }
    for system in &systems {
        notes.extend(system.notes());
    }
    drop(systems);
    drop(own_server);

    notes.push(format!(
        "rounds: {} ({} for large values), ops per round: {}",
        options.rounds,
        options.rounds * Workload::LargeGet.round_factor(),
        Workload::ALL
            .iter()
            .map(|w| format!("{} {}", w.id(), w.ops(options.scale)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    notes.push(format!(
        "peers: async-memcached has no pool: each of its {} connections is statically shared by \
         {} of the {} callers behind a tokio Mutex (no checkout, no timeouts); memcache runs \
         its r2d2 pool with test_on_check_out off (its default pings per checkout)",
        workload::POOL_SIZE,
        workload::CONCURRENCY / workload::POOL_SIZE,
        workload::CONCURRENCY
    ));
    notes.push(format!(
        "concurrent: {} callers; pooled clients up to {} connections; the floor runs {} blocking threads with a connection each",
        workload::CONCURRENCY,
        workload::POOL_SIZE,
        workload::POOL_SIZE
    ));
    print!("{}", report::render(&results, &external, &notes));
    Ok(())
}

/// Stores every key the get workloads read, so every get is a hit.
fn warm(addr: SocketAddr, data: &Data) -> Result<(), BenchError> {
    let mut conn = RawConn::connect(addr)?;
    for (key, value) in data.warm_items() {
        conn.set(key, value)?;
    }
    Ok(())
}

/// Reads the Python script's JSON, or carries the note saying why there is none.
fn python_results(options: &Options) -> Result<(External, Vec<String>), BenchError> {
    let mut notes = Vec::new();
    if let Some(note) = &options.python_note {
        notes.push(format!("python: {note}"));
    }
    let Some(path) = &options.python else {
        return Ok((External::new(), notes));
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| BenchError::Python(format!("{path}: {e}")))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| BenchError::Python(format!("{path}: {e}")))?;
    let mut external = External::new();
    let systems = json
        .get("systems")
        .and_then(|s| s.as_object())
        .ok_or_else(|| BenchError::Python(format!("{path}: no \"systems\" object")))?;
    for (system, workloads) in systems {
        let entry = external.entry(system.clone()).or_default();
        for (workload, ops) in workloads.as_object().into_iter().flatten() {
            if let Some(ops) = ops.as_f64() {
                entry.insert(workload.clone(), ops);
            }
        }
    }
    for note in json
        .get("notes")
        .and_then(|n| n.as_array())
        .into_iter()
        .flatten()
    {
        if let Some(note) = note.as_str() {
            notes.push(format!("python: {note}"));
        }
    }
    Ok((external, notes))
}
