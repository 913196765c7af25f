//! One trace as an indented text tree with durations, for terminals.
//!
//! Parent links follow Zipkin's rules: a child points at its parent's id,
//! and a `shared` (server-side) span with the same id as a client span sits
//! under that client span. Spans whose parent is missing become roots, and
//! cycles in bad data cannot loop forever.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::model::Span;

/// A span's position in the rendered tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeRow<'a> {
    /// The span.
    pub span: &'a Span,
    /// Its depth: 0 for a root.
    pub depth: usize,
}

/// The spans in depth-first order (children by start time), with depths.
pub fn tree_rows(spans: &[Span]) -> Vec<TreeRow<'_>> {
    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, span) in spans.iter().enumerate() {
        by_id.entry(span.id.as_str()).or_default().push(i);
    }
    let parents: Vec<Option<usize>> = (0..spans.len())
        .map(|i| parent_of(spans, &by_id, i))
        .collect();
    let mut children: HashMap<Option<usize>, Vec<usize>> = HashMap::new();
    for (i, parent) in parents.iter().enumerate() {
        children.entry(*parent).or_default().push(i);
    }
    for list in children.values_mut() {
        list.sort_by_key(|&i| (spans[i].timestamp.unwrap_or(0), spans[i].shared));
    }
    let mut rows = Vec::with_capacity(spans.len());
    let mut seen = HashSet::new();
    let roots = children.get(&None).cloned().unwrap_or_default();
    for root in roots {
        visit(spans, &children, root, &mut seen, &mut rows);
    }
    // Spans caught in a parent cycle were never reached from a root.
    for i in 0..spans.len() {
        visit(spans, &children, i, &mut seen, &mut rows);
    }
    rows
}

/// Appends the not yet seen part of `start`'s subtree, `start` at depth 0.
fn visit<'a>(
    spans: &'a [Span],
    children: &HashMap<Option<usize>, Vec<usize>>,
    start: usize,
    seen: &mut HashSet<usize>,
    rows: &mut Vec<TreeRow<'a>>,
) {
    // Explicit stack: deep traces must not overflow the call stack.
    let mut stack = vec![(start, 0)];
    while let Some((i, depth)) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        rows.push(TreeRow {
            span: &spans[i],
            depth,
        });
        if let Some(kids) = children.get(&Some(i)) {
            for &k in kids.iter().rev() {
                stack.push((k, depth + 1));
            }
        }
    }
}

fn parent_of(spans: &[Span], by_id: &HashMap<&str, Vec<usize>>, i: usize) -> Option<usize> {
    let span = &spans[i];
    let same_id = |id: &str| by_id.get(id).map(Vec::as_slice).unwrap_or_default();
    if span.shared {
        if let Some(&client) = same_id(&span.id).iter().find(|&&j| !spans[j].shared) {
            return Some(client);
        }
    }
    let candidates: Vec<usize> = same_id(span.parent_id.as_deref()?)
        .iter()
        .copied()
        .filter(|&j| j != i)
        .collect();
    // Children of an RPC belong under its server half when both are present.
    let server_half = candidates.iter().copied().find(|&j| spans[j].shared);
    server_half.or_else(|| candidates.first().copied())
}

/// The trace's root: the earliest span with no parent in the trace.
pub fn root_span(spans: &[Span]) -> Option<&Span> {
    tree_rows(spans)
        .into_iter()
        .find(|r| r.depth == 0)
        .map(|r| r.span)
}

/// Human-friendly duration from microseconds.
pub fn format_duration(micros: u64) -> String {
    if micros < 1_000 {
        format!("{micros} µs")
    } else if micros < 1_000_000 {
        format!("{:.3} ms", micros as f64 / 1e3)
    } else {
        format!("{:.3} s", micros as f64 / 1e6)
    }
}

/// Renders a trace as a box-drawing tree: name, service, duration and start
/// offset from the trace start; failed spans are marked `[error]`.
pub fn render_tree(spans: &[Span]) -> String {
    let rows = tree_rows(spans);
    let Some(first) = rows.first() else {
        return "(empty trace)\n".to_owned();
    };
    let start = spans.iter().filter_map(|s| s.timestamp).min().unwrap_or(0);
    let end = spans.iter().filter_map(Span::end).max().unwrap_or(start);
    let services: HashSet<&str> = spans.iter().filter_map(Span::service_name).collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "trace {}  ({} spans, {} services, {})",
        first.span.trace_id,
        spans.len(),
        services.len(),
        format_duration(end.saturating_sub(start))
    );
    let labels: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(n, row)| format!("{}{}", prefix(&rows, n), label(row.span)))
        .collect();
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for (row, label) in rows.iter().zip(&labels) {
        let pad = width - label.chars().count();
        let duration = row
            .span
            .duration
            .map(format_duration)
            .unwrap_or_else(|| "?".into());
        let offset = row
            .span
            .timestamp
            .map(|t| format_duration(t.saturating_sub(start)));
        let error = if row.span.is_error() { "  [error]" } else { "" };
        let _ = writeln!(
            out,
            "{label}{:pad$}  {duration:>11}  @ +{}{error}",
            "",
            offset.unwrap_or_else(|| "?".into())
        );
    }
    out
}

/// Span names longer than this are shortened in the middle, so a tree with
/// huge generated names (the demo's `CalculateSquareRoot-<107 digits>`)
/// still fits a terminal; the full name stays in the query API and web view.
const MAX_NAME_CHARS: usize = 64;

fn label(span: &Span) -> String {
    let name = span
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or("(unnamed)");
    let name = shorten(name, MAX_NAME_CHARS);
    match span.service_name() {
        Some(service) => format!("{name} [{service}]"),
        None => name.to_owned(),
    }
}

/// `name` itself when it has at most `max` characters, else its head and
/// tail around an ellipsis, `max` characters in all.
fn shorten(name: &str, max: usize) -> String {
    let count = name.chars().count();
    if count <= max {
        return name.to_owned();
    }
    let tail = max / 4;
    let head = max - tail - 1;
    let mut out: String = name.chars().take(head).collect();
    out.push('…');
    out.extend(name.chars().skip(count - tail));
    out
}

/// Box-drawing guides for row `n`: for each ancestor level, whether a later
/// sibling follows (draw `│`) and whether this row is its parent's last child.
fn prefix(rows: &[TreeRow<'_>], n: usize) -> String {
    let depth = rows[n].depth;
    if depth == 0 {
        return String::new();
    }
    let mut out = String::new();
    for level in 1..depth {
        out.push_str(if has_later_sibling(rows, n, level) {
            "│  "
        } else {
            "   "
        });
    }
    out.push_str(if has_later_sibling(rows, n, depth) {
        "├─ "
    } else {
        "└─ "
    });
    out
}

/// Whether, after row `n`, another row at `level` appears before the
/// enclosing subtree ends (a row shallower than `level`).
fn has_later_sibling(rows: &[TreeRow<'_>], n: usize, level: usize) -> bool {
    rows[n + 1..]
        .iter()
        .take_while(|r| r.depth >= level)
        .any(|r| r.depth == level)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Endpoint, Kind};

    fn span(id: &str, parent: Option<&str>, name: &str, ts: u64, dur: u64) -> Span {
        Span {
            trace_id: "00000000000000aa".into(),
            parent_id: parent.map(str::to_owned),
            id: id.into(),
            name: Some(name.into()),
            timestamp: Some(ts),
            duration: Some(dur),
            local_endpoint: Some(Endpoint {
                service_name: Some("app".into()),
                ..Endpoint::default()
            }),
            ..Span::default()
        }
    }

    #[test]
    fn renders_nested_tree_with_guides() {
        let mut failing = span("4", Some("2"), "get", 1_200, 300);
        failing.tags.insert("error".into(), "boom".into());
        let spans = vec![
            span("3", Some("1"), "second", 2_000, 1_000),
            span("1", None, "root", 1_000, 2_500),
            span("2", Some("1"), "first", 1_100, 800),
            failing,
        ];
        let text = render_tree(&spans);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("trace 00000000000000aa  (4 spans, 1 services, 2.500 ms)"));
        assert!(lines[1].starts_with("root [app]"));
        assert!(lines[2].starts_with("├─ first [app]"));
        assert!(lines[3].starts_with("│  └─ get [app]"));
        assert!(lines[3].ends_with("@ +200 µs  [error]"));
        assert!(lines[4].starts_with("└─ second [app]"));
        assert!(lines[4].contains("1.000 ms"));
    }

    #[test]
    fn shared_server_span_nests_under_client_and_takes_children() {
        let mut client = span("2", Some("1"), "call", 10, 50);
        client.kind = Some(Kind::Client);
        let mut server = span("2", Some("1"), "handle", 12, 40);
        server.kind = Some(Kind::Server);
        server.shared = true;
        let spans = vec![
            span("1", None, "root", 0, 100),
            client,
            server,
            span("3", Some("2"), "work", 15, 5),
        ];
        let depths: Vec<(&str, usize)> = tree_rows(&spans)
            .iter()
            .map(|r| (r.span.name.as_deref().unwrap(), r.depth))
            .collect();
        assert_eq!(
            depths,
            vec![("root", 0), ("call", 1), ("handle", 2), ("work", 3)]
        );
    }

    #[test]
    fn orphans_and_cycles_still_render_every_span() {
        let spans = vec![
            span("1", Some("2"), "a", 0, 1),
            span("2", Some("1"), "b", 1, 1),
            span("5", Some("9"), "orphan", 2, 1),
        ];
        assert_eq!(tree_rows(&spans).len(), 3);
        assert_eq!(root_span(&spans).unwrap().name.as_deref(), Some("orphan"));
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(999), "999 µs");
        assert_eq!(format_duration(1_500), "1.500 ms");
        assert_eq!(format_duration(2_000_000), "2.000 s");
    }

    #[test]
    fn long_names_are_shortened_in_the_middle() {
        assert_eq!(shorten("memcache.get", 64), "memcache.get");
        let long = format!("CalculateSquareRoot-{}", "9".repeat(107));
        let short = shorten(&long, 64);
        assert_eq!(short.chars().count(), 64);
        assert!(short.starts_with("CalculateSquareRoot-999"));
        assert!(short.contains('…'));
        assert_eq!(shorten(&"x".repeat(64), 64), "x".repeat(64));
    }
}
