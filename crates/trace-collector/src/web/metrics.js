// The metrics page: the cache's hit ratio and latency per operation, from
// the client's OpenTelemetry metrics the collector holds. The numbers come
// computed from /api/collector/cache-metrics (the same ones
// `trace-collector metrics` prints); the page only draws them.

import { $, el, svg, getJSON, fmtClock, errorBox, rendering } from "./util.js";

const W = 1000;
const H = 180;
const M = { left: 64, right: 16, top: 12, bottom: 28 };
const HIST_W = 240;
const HIST_H = 40;

const ms = (seconds) => (seconds == null ? "–" : `${(seconds * 1000).toFixed(3)} ms`);
const pct = (ratio) => (ratio == null ? "–" : `${(ratio * 100).toFixed(1)}%`);

/** A line chart of `series` ([{name, cls, points: [[timeUs, value]]}]). */
function lineChart(id, label, series, format, top) {
  const all = series.flatMap((s) => s.points);
  if (all.length < 1) return el("div", { class: "muted chart-empty", text: "Not enough export intervals yet." });
  let t0 = Math.min(...all.map((p) => p[0]));
  let t1 = Math.max(...all.map((p) => p[0]));
  if (t1 - t0 < 1000) { t0 -= 500; t1 += 500; }
  const max = top ?? Math.max(1e-9, ...all.map((p) => p[1])) * 1.1;
  const x = (t) => M.left + ((t - t0) / (t1 - t0)) * (W - M.left - M.right);
  const y = (v) => H - M.bottom - (v / max) * (H - M.top - M.bottom);
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => svg("g", { class: "y-tick" },
    svg("line", { x1: M.left, x2: W - M.right, y1: y(f * max), y2: y(f * max) }),
    svg("text", { x: M.left - 8, y: y(f * max) + 4, "text-anchor": "end", text: format(f * max) })));
  const xTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => svg("text", {
    class: "x-tick", x: x(t0 + f * (t1 - t0)), y: H - 8, "text-anchor": "middle", text: fmtClock(t0 + f * (t1 - t0), true),
  }));
  const lines = series.map((s) => svg("g", { class: `series ${s.cls}`, "data-series": s.name },
    svg("polyline", { points: s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ") }),
    s.points.map((p) => svg("circle", { class: "point", cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 3, "data-value": p[1] },
      svg("title", { text: `${s.name}: ${format(p[1])}` })))));
  return svg("svg", { class: "line-chart", id, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label },
    grid, svg("line", { class: "axis", x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom }), xTicks, lines);
}

/** Bars of an operation's duration buckets (the client's bucket bounds). */
function histogram(op) {
  const most = Math.max(1, ...op.bucketCounts);
  const w = HIST_W / op.bucketCounts.length;
  return svg("svg", { class: "histo", viewBox: `0 0 ${HIST_W} ${HIST_H}`, width: HIST_W, height: HIST_H, preserveAspectRatio: "none" },
    svg("line", { x1: 0, x2: HIST_W, y1: HIST_H - 0.5, y2: HIST_H - 0.5 }),
    op.bucketCounts.map((n, i) => {
      const h = n ? Math.max(2, ((HIST_H - 2) * n) / most) : 0;
      const from = i === 0 ? 0 : op.bounds[i - 1];
      const to = op.bounds[i];
      return svg("rect", { "data-count": n, x: (i * w + 0.5).toFixed(1), y: (HIST_H - 1 - h).toFixed(1), width: Math.max(1, w - 1).toFixed(1), height: h.toFixed(1) },
        svg("title", { text: `${ms(from)} – ${to == null ? "∞" : ms(to)}: ${n}` }));
    }));
}

function row(op) {
  const rate = op.count ? (100 * op.errors) / op.count : 0;
  return el("tr", { class: op.errors ? "op-row has-error" : "op-row", "data-operation": op.name },
    el("td", { class: "op-name", text: op.name }),
    el("td", { class: "num count", text: op.count }),
    el("td", { class: "num errors", text: op.errors }),
    el("td", { class: `num rate${op.errors ? " bad" : ""}`, text: `${rate.toFixed(rate && rate < 10 ? 1 : 0)}%` }),
    el("td", { class: "num p50", "data-seconds": op.p50 ?? "", text: ms(op.p50) }),
    el("td", { class: "num p95", "data-seconds": op.p95 ?? "", text: ms(op.p95) }),
    el("td", { class: "num p99", "data-seconds": op.p99 ?? "", text: ms(op.p99) }),
    el("td", { class: "hist-cell" }, histogram(op)));
}

export function showMetrics() {
  return rendering("metrics", async () => {
    document.title = "Metrics · Trace Collector";
    let m;
    try {
      m = await getJSON("api/collector/cache-metrics");
    } catch (e) {
      $("metrics-body").replaceChildren(errorBox(`Could not load metrics: ${e.message}`));
      return;
    }
    const looked = m.hits + m.misses;
    const headline = el("div", { class: "card metric-cards" },
      el("div", { class: "metric", id: "hit-ratio", "data-ratio": m.hitRatio ?? "" },
        el("div", { class: "metric-value", text: pct(m.hitRatio) }), el("div", { class: "muted", text: "hit ratio" })),
      el("div", { class: "metric" }, el("div", { class: "metric-value", id: "hits", text: m.hits }), el("div", { class: "muted", text: "hits" })),
      el("div", { class: "metric" }, el("div", { class: "metric-value", id: "misses", text: m.misses }), el("div", { class: "muted", text: "misses" })));
    if (!looked && !m.operations.length) {
      $("metrics-summary").textContent = "";
      $("metrics-body").replaceChildren(el("div", { class: "card empty", text: "No memcache-client metrics held. Export them with OTEL_METRICS_EXPORTER=otlp and OTEL_EXPORTER_OTLP_ENDPOINT pointing here." }));
      return;
    }
    $("metrics-summary").textContent = `${looked} keys looked up, ${m.operations.reduce((n, op) => n + op.count, 0)} operations, ${m.timeline.length} export intervals`;
    const us = (nanos) => nanos / 1000;
    const ratioLine = {
      name: "hit ratio", cls: "ratio",
      points: m.timeline.filter((t) => t.hits + t.misses > 0).map((t) => [us(t.timeUnixNano), t.hits / (t.hits + t.misses)]),
    };
    const latency = [];
    for (const op of m.operations) {
      for (const [q, index] of [["p50", 2], ["p99", 3]]) {
        latency.push({
          name: `${op.name} ${q}`, cls: q,
          points: m.timeline.flatMap((t) => t.operations.filter((o) => o[0] === op.name && o[index] != null).map((o) => [us(t.timeUnixNano), o[index]])),
        });
      }
    }
    const table = el("div", { class: "card table-card" },
      el("table", { class: "traces ops", id: "metric-ops" },
        el("thead", {}, el("tr", {}, ...["Operation", "Count", "Errors", "Error rate", "p50", "p95", "p99"].map((h, i) => el("th", { class: i ? "num" : "", text: h })), el("th", { text: "Latency histogram" }))),
        el("tbody", { id: "metric-rows" }, ...m.operations.map(row))));
    $("metrics-body").replaceChildren(
      headline,
      el("h2", { text: "Hit ratio over time" }),
      el("div", { class: "card chart-card" }, lineChart("ratio-chart", "Hit ratio per export interval", [ratioLine], pct, 1)),
      el("h2", { text: "Operations" }),
      table,
      el("h2", { text: "Latency over time (p50, p99 per export interval)" }),
      el("div", { class: "card chart-card" }, lineChart("latency-chart", "Latency percentiles per export interval", latency, ms)));
  });
}
