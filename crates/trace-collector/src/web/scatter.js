// The latency scatter plot over the trace list: start time across, duration
// up, one point per trace, errors in red; a click opens the trace.

import { el, svg, fmtDuration, fmtClock, fmtTime } from "./util.js";

const W = 1000;
const H = 220;
const M = { left: 64, right: 16, top: 14, bottom: 30 };

function ticks(from, to, count) {
  return Array.from({ length: count + 1 }, (_, n) => from + ((to - from) * n) / count);
}

/** An SVG chart of `summaries` (see model.summarize); `open(traceId)` on click. */
export function scatterPlot(summaries, open) {
  const timed = summaries.filter((s) => s.start);
  if (!timed.length) return el("div", { class: "muted chart-empty", text: "No timed traces to plot." });
  let t0 = Math.min(...timed.map((s) => s.start));
  let t1 = Math.max(...timed.map((s) => s.start));
  if (t1 - t0 < 1000) { t0 -= 500; t1 += 500; }
  const top = Math.max(1, ...timed.map((s) => s.duration)) * 1.08;
  const x = (t) => M.left + ((t - t0) / (t1 - t0)) * (W - M.left - M.right);
  const y = (d) => H - M.bottom - (d / top) * (H - M.top - M.bottom);
  const grid = ticks(0, top, 4).map((d) => svg("g", { class: "y-tick" },
    svg("line", { x1: M.left, x2: W - M.right, y1: y(d), y2: y(d) }),
    svg("text", { x: M.left - 8, y: y(d) + 4, "text-anchor": "end", text: fmtDuration(d) })));
  const xTicks = ticks(t0, t1, 5).map((t) => svg("text", {
    class: "x-tick", x: x(t), y: H - 8, "text-anchor": "middle", text: fmtClock(t, t1 - t0 < 30e6),
  }));
  const points = timed.map((s) => svg("circle", {
    class: s.errors ? "point error" : "point",
    "data-trace-id": s.traceId,
    cx: x(s.start).toFixed(1),
    cy: y(s.duration).toFixed(1),
    r: Math.min(9, 4 + Math.log2(s.spanCount)).toFixed(1),
    tabindex: "0",
    onclick: () => open(s.traceId),
    onkeydown: (e) => { if (e.key === "Enter") open(s.traceId); },
  }, svg("title", { text: `${(s.root && s.root.name) || "(unnamed)"} · ${fmtDuration(s.duration)} · ${s.spanCount} spans${s.errors ? ` · ${s.errors} errors` : ""}\n${fmtTime(s.start)}` })));
  return svg("svg", { class: "scatter", id: "scatter", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Trace duration over start time" },
    grid,
    svg("line", { class: "axis", x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom }),
    xTicks,
    points);
}
