// The operations page: per service and span name, how many spans, how many
// failed, latency percentiles and a latency histogram, over the traces held
// (from /api/collector/operations).

import { $, el, svg, getJSON, fmtDuration, hashParams, windowParams, pill, errorBox, rendering } from "./util.js";

const HIST_W = 200;
const HIST_H = 36;

/** Bars of an operation's log-spaced latency buckets. */
function histogram(op) {
  const most = Math.max(1, ...op.histogram.map((b) => b.count));
  const w = HIST_W / op.histogram.length;
  return svg("svg", { class: "histo", viewBox: `0 0 ${HIST_W} ${HIST_H}`, width: HIST_W, height: HIST_H, preserveAspectRatio: "none" },
    svg("line", { x1: 0, x2: HIST_W, y1: HIST_H - 0.5, y2: HIST_H - 0.5 }),
    op.histogram.map((b, n) => {
      const h = b.count ? Math.max(2, ((HIST_H - 2) * b.count) / most) : 0;
      return svg("rect", { "data-count": b.count, x: (n * w + 0.5).toFixed(1), y: (HIST_H - 1 - h).toFixed(1), width: Math.max(1, w - 1).toFixed(1), height: h.toFixed(1) },
        svg("title", { text: `${fmtDuration(b.from)} – ${fmtDuration(b.to)}: ${b.count}` }));
    }));
}

function row(op) {
  const rate = op.count ? (100 * op.errorCount) / op.count : 0;
  const cell = (key) => el("td", { class: `num ${key}`, "data-us": op[key], text: fmtDuration(op[key]) });
  const open = () => {
    const q = new URLSearchParams({ service: op.serviceName, span: op.spanName });
    location.hash = `#/?${q}`;
  };
  return el("tr", { class: op.errorCount ? "op-row has-error" : "op-row", "data-service": op.serviceName, "data-span": op.spanName, onclick: open },
    el("td", {}, pill(op.serviceName)),
    el("td", { class: "op-name", title: op.spanName, text: op.spanName || "(unnamed)" }),
    el("td", { class: "num count", text: op.count }),
    el("td", { class: "num errors", text: op.errorCount }),
    el("td", { class: `num rate${op.errorCount ? " bad" : ""}`, text: `${rate.toFixed(rate && rate < 10 ? 1 : 0)}%` }),
    cell("p50"), cell("p95"), cell("p99"),
    el("td", { class: "hist-cell" }, histogram(op),
      el("div", { class: "hist-range" }, el("span", { text: fmtDuration(op.min) }), el("span", { text: fmtDuration(op.max) }))));
}

export function showOperations() {
  return rendering("ops", async () => {
    document.title = "Operations · Trace Collector";
    const params = hashParams();
    const lookback = params.get("lookback") || "all";
    const service = params.get("service") || "";
    $("o-lookback").value = lookback;
    const q = new URLSearchParams(windowParams(lookback));
    if (service) q.set("serviceName", service);
    const body = $("ops-rows");
    let ops;
    try {
      const services = await getJSON("api/v2/services");
      const select = $("o-service");
      select.replaceChildren(el("option", { value: "", text: "All services" }), ...services.map((s) => el("option", { value: s, text: s })));
      select.value = services.includes(service) ? service : "";
      ops = await getJSON(`api/collector/operations?${q}`);
    } catch (e) {
      body.replaceChildren();
      $("ops-summary").replaceChildren(errorBox(`Could not load operations: ${e.message}`));
      return;
    }
    const spans = ops.reduce((n, op) => n + op.count, 0);
    $("ops-summary").textContent = `${ops.length} operation${ops.length === 1 ? "" : "s"} over ${spans} spans held`;
    body.replaceChildren(...ops.map(row));
  });
}
