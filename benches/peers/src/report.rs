//! Turning measured rounds into the table: medians, ratios to the floor,
//! and the key ratios with their targets (PASS/MISS).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use memcache_client::ConnectionMode::{Exclusive, Multiplexed};

use crate::async_floor::AsyncFloor;
use crate::floor::Floor;
use crate::libmemcached;
use crate::ours;
use crate::tracing_modes::TracingMode;
use crate::workload::Workload;

/// Ops/s of every round, per system and workload.
#[derive(Default)]
pub struct Results {
    /// Systems in table order.
    pub systems: Vec<String>,
    rounds: BTreeMap<(usize, usize), Vec<f64>>,
}

/// Throughputs measured elsewhere (the Python script): system -> workload
/// id -> median ops/s.
pub type External = BTreeMap<String, BTreeMap<String, f64>>;

pub const PYMEMCACHE_OTEL: &str = "pymemcache + OTel always-on";

impl Results {
    pub fn add_system(&mut self, name: &str) -> usize {
        self.systems.push(name.to_string());
        self.systems.len() - 1
    }

    pub fn record(&mut self, system: usize, workload: Workload, ops_per_sec: f64) {
        self.rounds
            .entry((system, workload_index(workload)))
            .or_default()
            .push(ops_per_sec);
    }

    fn rounds(&self, system: &str, workload: Workload) -> Option<&[f64]> {
        let index = self.systems.iter().position(|s| s == system)?;
        self.rounds
            .get(&(index, workload_index(workload)))
            .map(Vec::as_slice)
    }

    fn median(&self, system: &str, workload: Workload) -> Option<f64> {
        self.rounds(system, workload).map(median)
    }

    /// The median over rounds of `a`'s throughput divided by `b`'s in the
    /// same round. Rounds alternate, so both saw nearly the same machine
    /// load; this follows load drifts better than a ratio of medians.
    fn paired_ratio(&self, a: &str, b: &str, workload: Workload) -> Option<f64> {
        let (a, b) = (self.rounds(a, workload)?, self.rounds(b, workload)?);
        let ratios: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
        (!ratios.is_empty()).then(|| median(&ratios))
    }
}

fn workload_index(workload: Workload) -> usize {
    Workload::ALL
        .iter()
        .position(|w| *w == workload)
        .unwrap_or(usize::MAX)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The full report: per-workload table, then the key ratios.
pub fn render(results: &Results, external: &External, notes: &[String]) -> String {
    let mut out = String::new();
    let line = "-".repeat(108);
    let _ = writeln!(
        out,
        "{:<30} {:<50} {:>12} {:>9} {:>8}",
        "workload", "system", "ops/s", "x floor", "spread"
    );
    let _ = writeln!(out, "{line}");
    for workload in Workload::ALL {
        let floor = results.median(Floor::NAME, workload);
        let mut first = true;
        let mut row = |system: &str, ops: f64, ratio: Option<f64>, spread: Option<f64>| {
            let label = if first {
                workload.to_string()
            } else {
                String::new()
            };
            first = false;
            let ratio = ratio.map_or("-".to_string(), |r| format!("{r:.3}"));
            let spread = spread.map_or("-".to_string(), |s| format!("{:.1}%", s * 100.0));
            let _ = writeln!(
                out,
                "{label:<30} {system:<50} {:>12} {ratio:>9} {spread:>8}",
                thousands(ops)
            );
        };
        for system in &results.systems {
            if let Some(rounds) = results.rounds(system, workload) {
                let m = median(rounds);
                let lo = rounds.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = rounds.iter().copied().fold(0.0, f64::max);
                let ratio = results.paired_ratio(system, Floor::NAME, workload);
                row(system, m, ratio, Some((hi - lo) / m));
            }
        }
        for (system, by_workload) in external {
            if let Some(&ops) = by_workload.get(workload.id()) {
                row(system, ops, floor.map(|f| ops / f), None);
            }
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "ops/s: median of the rounds (a get_many call is one op). x floor: median over rounds\n\
         of ops/s divided by the floor's in the same round (Python rows: ratio of medians,\n\
         measured in a separate run). spread: (max - min) / median over the rounds."
    );
    for note in notes {
        let _ = writeln!(out, "note: {note}");
    }
    let _ = writeln!(out, "\nkey ratios");
    for check in key_ratios(results, external) {
        let _ = writeln!(out, "{check}");
    }
    let _ = writeln!(
        out,
        "\ncontext: the async floor (raw tokio loop, no work) against the blocking floor, \
         and our client against the async floor"
    );
    let ours = TracingMode::Off.label();
    for workload in [Workload::SeqGet, Workload::SeqSet, Workload::GetMany] {
        for (a, b) in [(AsyncFloor::NAME, Floor::NAME), (ours, AsyncFloor::NAME)] {
            let value = results
                .paired_ratio(a, b, workload)
                .map_or("-".to_string(), |v| format!("{v:.3}"));
            let _ = writeln!(out, "  {:<88} {value:>8}", format!("{workload}: {a} / {b}"));
        }
    }
    let _ = writeln!(
        out,
        "\nfloors of any layer-based exporter, against untraced: tracing-subscriber's \
         registry alone (spans created, stored, closed), and with one empty span per call \
         through the SDK's batch processor"
    );
    for floor in [TracingMode::RegistryOnly, TracingMode::EmptySpans] {
        let floor = floor.label();
        for workload in [Workload::SeqGet, Workload::Concurrent] {
            let value = results
                .paired_ratio(floor, ours, workload)
                .map_or("-".to_string(), |v| format!("{v:.3}"));
            let _ = writeln!(
                out,
                "  {:<88} {value:>8}",
                format!("{workload}: {floor} / {ours}")
            );
        }
    }
    out
}

/// One target: `value` must be at least `target`.
struct Check {
    name: String,
    value: Option<f64>,
    target: f64,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.value {
            Some(v) => {
                let verdict = if v >= self.target { "PASS" } else { "MISS" };
                write!(
                    f,
                    "  {verdict}  {:<88} {v:>8.3}  (target >= {})",
                    self.name, self.target
                )
            }
            None => write!(
                f,
                "  n/a   {:<88} {:>8}  (target >= {})",
                self.name, "-", self.target
            ),
        }
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?)
}

fn key_ratios(results: &Results, external: &External) -> Vec<Check> {
    let ours = TracingMode::Off.label();
    let traced = TracingMode::AlwaysOn.label();
    let disabled = TracingMode::DisabledByLevel.label();
    let m = |system: &str, w: Workload| results.median(system, w);
    let paired = |a: &str, b: &str, w: Workload| results.paired_ratio(a, b, w);
    let mut checks = vec![
        Check {
            name: "seq get: ours untraced / blocking floor".into(),
            value: paired(ours, Floor::NAME, Workload::SeqGet),
            target: 0.90,
        },
        Check {
            name: "seq get: ours disabled by level / ours untraced".into(),
            value: paired(disabled, ours, Workload::SeqGet),
            target: 0.97,
        },
        Check {
            name: "get_many 100: ours untraced / floor (one multi-key write)".into(),
            value: paired(ours, Floor::NAME, Workload::GetMany),
            target: 0.80,
        },
    ];
    // The Rust peers (libmemcached has lines of its own below).
    let best_peer = results
        .systems
        .iter()
        .filter(|s| s.starts_with("peer:") && s.as_str() != libmemcached::NAME)
        .filter_map(|s| m(s, Workload::Concurrent).map(|v| (s, v)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let peer_name = best_peer.map_or("best Rust peer".to_string(), |(s, _)| {
        s.trim_start_matches("peer: ").to_string()
    });
    let ours_mux = ours::name(TracingMode::Off, Multiplexed);
    let traced_mux = ours::name(TracingMode::AlwaysOn, Multiplexed);
    for (system, label) in [
        (ours, "untraced"),
        (traced, "OTel always-on"),
        (&ours_mux, "untraced, multiplexed"),
        (&traced_mux, "OTel always-on, multiplexed"),
    ] {
        checks.push(Check {
            name: format!("concurrent: ours {label} / {peer_name}"),
            value: best_peer.and_then(|(peer, _)| paired(system, peer, Workload::Concurrent)),
            target: 1.0,
        });
    }
    // Issue 18: always-on tracing nearly free (both modes), and the best
    // traced mode ahead of the best Rust peer untraced.
    for (workload, short, a, b, label) in [
        (Workload::SeqGet, "seq get", traced, ours, "pooled"),
        (Workload::Concurrent, "concurrent", traced, ours, "pooled"),
        (
            Workload::Concurrent,
            "concurrent",
            traced_mux.as_str(),
            ours_mux.as_str(),
            "multiplexed",
        ),
    ] {
        checks.push(Check {
            name: format!("{short}: ours OTel always-on / untraced ({label})"),
            value: paired(a, b, workload),
            target: 0.95,
        });
    }
    let best_traced = [traced, traced_mux.as_str()]
        .into_iter()
        .filter_map(|s| best_peer.and_then(|(peer, _)| paired(s, peer, Workload::Concurrent)))
        .max_by(f64::total_cmp);
    checks.push(Check {
        name: format!("concurrent: ours OTel always-on (best mode) / {peer_name}"),
        value: best_traced,
        target: 1.1,
    });
    // libmemcached, the C client: ours untraced against it; on concurrent
    // with our best connection mode (multiplexed), and pooled beside it.
    let lmc = libmemcached::NAME;
    for (workload, short, system, label, target) in [
        (Workload::SeqGet, "seq get", ours, "untraced", 0.90),
        (Workload::SeqSet, "seq set", ours, "untraced", 0.90),
        (Workload::GetMany, "get_many 100", ours, "untraced", 1.0),
        (
            Workload::Concurrent,
            "concurrent",
            &ours_mux,
            "untraced, multiplexed",
            1.0,
        ),
        (
            Workload::Concurrent,
            "concurrent",
            ours,
            "untraced, pooled",
            1.0,
        ),
    ] {
        checks.push(Check {
            name: format!("{short}: ours {label} / libmemcached 1.1 (C)"),
            value: paired(system, lmc, workload),
            target,
        });
    }
    // What real metrics (an SDK meter provider) cost against no-op
    // instruments, untraced.
    for (workload, short, connections, label) in [
        (Workload::SeqGet, "seq get", Exclusive, ""),
        (Workload::Concurrent, "concurrent", Exclusive, ", pooled"),
        (
            Workload::Concurrent,
            "concurrent",
            Multiplexed,
            ", multiplexed",
        ),
    ] {
        checks.push(Check {
            name: format!("{short}: ours metrics on / metrics off (untraced{label})"),
            value: paired(
                &ours::metrics_name(connections),
                &ours::name(TracingMode::Off, connections),
                workload,
            ),
            target: 0.97,
        });
    }
    let python = external.get(PYMEMCACHE_OTEL);
    for workload in Workload::ALL {
        checks.push(Check {
            name: format!("{workload}: ours OTel always-on / {PYMEMCACHE_OTEL}"),
            value: ratio(
                m(traced, workload),
                python.and_then(|p| p.get(workload.id()).copied()),
            ),
            target: 5.0,
        });
    }
    checks.push(Check {
        name: format!(
            "{}: ours OTel always-on, multiplexed / {PYMEMCACHE_OTEL}",
            Workload::Concurrent
        ),
        value: ratio(
            m(&traced_mux, Workload::Concurrent),
            python.and_then(|p| p.get(Workload::Concurrent.id()).copied()),
        ),
        target: 5.0,
    });
    checks
}

/// `1234567.8` as `1,234,568`.
fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "-".to_string();
    }
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
