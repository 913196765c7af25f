// One trace as a waterfall: bars on a time axis, nested by parent and
// collapsible, errors highlighted, the critical path marked, links to other
// spans navigable, a span's details on click, and a Zipkin JSON download.

import { $, el, getJSON, fmtDuration, fmtTime, serviceColor, pill, errorBox, rendering } from "./util.js";
import { summarize, criticalPath, spanLinks, serviceOf, isError } from "./model.js";

const fromCollector = () => "#/trace/";
const state = {
  summary: null, collapsed: new Set(), selected: -1, critical: new Map(), showCritical: true, source: "",
  // Where a linked trace is shown: the route prefix for a trace id.
  routeOf: fromCollector,
};

/** Loads trace `id` from the collector and shows it, selecting `selectSpan`. */
export function showTrace(id, selectSpan) {
  return rendering("trace", async (current) => {
    const body = $("trace-body");
    body.replaceChildren(el("div", { class: "muted", text: "Loading trace…" }));
    try {
      const spans = await getJSON(`api/v2/trace/${encodeURIComponent(id)}`);
      if (current()) present(spans, selectSpan, "", fromCollector);
    } catch (e) {
      const text = e.status === 404
        ? `Trace ${id} is not held by this collector (never received, or evicted by the trace cap).`
        : `Could not load trace ${id}: ${e.message}`;
      body.replaceChildren(errorBox(text));
    }
  });
}

/**
 * Shows spans that did not come from the collector (an uploaded file);
 * `routeOf(traceId)` is the route prefix of a linked trace.
 */
export function showSpans(spans, selectSpan, source, routeOf) {
  return rendering("trace", async () => present(spans, selectSpan, source, routeOf));
}

function present(spans, selectSpan, source, routeOf) {
  state.routeOf = routeOf;
  state.summary = summarize(spans);
  state.collapsed = new Set();
  state.critical = criticalPath(state.summary.rows);
  state.source = source;
  state.selected = state.summary.rows.findIndex((r) => r.span.id === selectSpan);
  renderTrace();
  const picked = document.querySelector(".wf-span.selected");
  if (picked) picked.scrollIntoView({ block: "center" });
}

function fact(label, value, cls) {
  return el("div", { class: "fact" }, el("span", { class: "k", text: label }), el("span", { class: `v ${cls || ""}`, text: value }));
}

let downloadUrl = null;

function downloadLink(s) {
  // One trace's blob at a time: the previous one is released.
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = URL.createObjectURL(new Blob([JSON.stringify(s.spans, null, 2)], { type: "application/json" }));
  return el("a", {
    class: "button ghost", id: "download", href: downloadUrl, download: `trace-${s.traceId}.json`,
    title: "This trace as Zipkin v2 JSON (a list of spans)", text: "Download JSON",
  });
}

function renderTrace() {
  const s = state.summary;
  const rootName = (s.root && s.root.name) || "(unnamed)";
  document.title = `${rootName} · Trace Collector`;
  const criticalToggle = el("label", { class: "live", title: "Mark the spans that determine the trace's duration" },
    el("input", {
      type: "checkbox", id: "show-critical", checked: state.showCritical,
      onchange: (e) => { state.showCritical = e.target.checked; renderWaterfall(); },
    }), " Critical path");
  const head = el("div", { class: "card trace-head" },
    el("div", { class: "trace-actions" }, criticalToggle, downloadLink(s)),
    el("h1", {}, el("span", { class: "trace-title", text: rootName }),
      s.errors ? el("span", { class: "badge error", text: `${s.errors} error${s.errors > 1 ? "s" : ""}` }) : null,
      state.source ? el("span", { class: "badge source", text: state.source }) : null),
    el("div", { class: "facts" },
      fact("Trace ID", s.traceId, "mono"),
      fact("Root service", serviceOf(s.root)),
      fact("Start", fmtTime(s.start)),
      fact("Duration", fmtDuration(s.duration)),
      fact("Spans", String(s.spanCount)),
      fact("Depth", String(s.depth)),
      fact("Services", String(s.services.length))),
    el("div", { class: "legend" }, s.services.map(pill),
      el("span", { class: "legend-key" }, el("span", { class: "swatch critical" }), "critical path"),
      el("span", { class: "legend-key" }, el("span", { class: "swatch error" }), "error")),
  );
  $("trace-body").replaceChildren(head, el("div", { class: "card waterfall", id: "waterfall" }));
  renderWaterfall();
}

function hiddenByCollapse(rows, index) {
  for (let p = rows[index].parentRow; p >= 0; p = rows[p].parentRow) {
    if (state.collapsed.has(p)) return true;
  }
  return false;
}

function renderWaterfall() {
  const s = state.summary;
  const total = Math.max(1, s.duration);
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1].map((f) =>
    el("span", { class: "tick", style: { left: `${f * 100}%` }, text: fmtDuration(f * total) }));
  const header = el("div", { class: "wf-row wf-head" },
    el("div", { class: "wf-label", text: `Service & span · ${s.spanCount} spans` }),
    el("div", { class: "wf-axis" }, ticks));
  const rows = [];
  s.rows.forEach((row, index) => {
    if (hiddenByCollapse(s.rows, index)) return;
    rows.push(spanRow(row, index, total));
    if (index === state.selected) rows.push(details(row.span));
  });
  $("waterfall").classList.toggle("critical-on", state.showCritical);
  $("waterfall").replaceChildren(header, ...rows);
}

function linkHref(link) {
  return `${state.routeOf(link.traceId)}${link.traceId}${link.spanId ? `?span=${link.spanId}` : ""}`;
}

function spanRow(row, index, total) {
  const s = state.summary;
  const span = row.span;
  const service = serviceOf(span);
  const color = serviceColor(service);
  const failed = isError(span);
  const pct = (us) => (100 * (us - s.start)) / total;
  const left = span.timestamp ? pct(span.timestamp) : 0;
  const width = Math.max(0.25, (100 * (span.duration || 0)) / total);
  const collapsed = state.collapsed.has(index);
  const critical = state.showCritical ? state.critical.get(index) || [] : [];
  const links = spanLinks(span);
  const toggle = el("button", {
    class: row.childCount ? "toggle" : "toggle leaf",
    title: collapsed ? "Expand" : "Collapse",
    type: "button",
    text: collapsed ? "▶" : "▼",
    onclick: (event) => {
      event.stopPropagation();
      if (collapsed) state.collapsed.delete(index);
      else state.collapsed.add(index);
      renderWaterfall();
    },
  });
  // Wide bars carry their label inside; others beside them, on whichever side has room.
  let labelStyle;
  let labelClass = "bar-label";
  if (width >= 18) {
    labelStyle = { right: `calc(${100 - left - width}% + 6px)` };
    labelClass += " inside";
  } else if (left + width > 82) {
    labelStyle = { right: `calc(${100 - left}% + 6px)` };
  } else {
    labelStyle = { left: `calc(${left + width}% + 6px)` };
  }
  const label = el("span", { class: labelClass, text: fmtDuration(span.duration), style: labelStyle });
  const marks = (span.annotations || []).map((a) =>
    el("span", { class: "mark", title: a.value, style: { left: `${pct(a.timestamp)}%` } }));
  const segments = critical.map(([from, to]) =>
    el("span", { class: "crit-seg", style: { left: `${pct(from)}%`, width: `${Math.max(0.2, (100 * (to - from)) / total)}%` } }));
  const classes = ["wf-row", "wf-span"];
  if (index === state.selected) classes.push("selected");
  if (critical.length) classes.push("critical");
  if (failed) classes.push("has-error");
  return el("div", {
    class: classes.join(" "),
    "data-span-id": span.id,
    onclick: () => {
      state.selected = state.selected === index ? -1 : index;
      renderWaterfall();
    },
  },
    el("div", { class: "wf-label" },
      el("span", { class: "indent", style: { width: `${10 + row.depth * 18}px` } }),
      toggle,
      el("span", { class: "svc", style: { color, background: `${color}1f` }, text: service }),
      el("span", { class: "span-name", title: span.name || "", text: span.name || "(unnamed)" }),
      failed ? el("span", { class: "err-mark", title: "error", text: "!" }) : null,
      links.map((link) => el("a", {
        class: "link-chip", href: linkHref(link), title: `${link.label} → ${link.traceId}${link.spanId ? ` / ${link.spanId}` : ""}`,
        text: "↗", onclick: (e) => e.stopPropagation(),
      }))),
    el("div", { class: "wf-track" },
      el("span", { class: `bar${failed ? " error" : ""}`, style: { left: `${left}%`, width: `${width}%`, background: failed ? "#e25555" : color } }),
      segments,
      marks,
      label),
  );
}

function kvTable(pairs, errorKey) {
  return el("table", { class: "kv" }, el("tbody", {}, pairs.map(([k, v]) =>
    el("tr", { class: k === errorKey ? "error-tag" : "" }, el("td", { text: k }), el("td", {}, v)))));
}

function endpointText(ep) {
  if (!ep) return null;
  const addr = ep.ipv4 || ep.ipv6;
  return [ep.serviceName, addr ? `${addr}${ep.port ? `:${ep.port}` : ""}` : null].filter(Boolean).join(" @ ");
}

function details(span) {
  const s = state.summary;
  const info = [
    ["Span ID", span.id],
    ["Parent ID", span.parentId || "— (root)"],
    ["Kind", span.kind || "—"],
    ["Service", endpointText(span.localEndpoint) || "unknown"],
    ["Remote", endpointText(span.remoteEndpoint)],
    ["Start", span.timestamp ? fmtTime(span.timestamp) : "—"],
    ["Offset", span.timestamp ? `+${fmtDuration(span.timestamp - s.start)} from trace start` : null],
    ["Duration", fmtDuration(span.duration)],
    ["Shared", span.shared ? "yes" : null],
  ].filter(([, v]) => v);
  const tags = Object.entries(span.tags || {}).sort(([a], [b]) => a.localeCompare(b));
  const notes = (span.annotations || []).map((a) => [`+${fmtDuration(a.timestamp - s.start)}`, a.value]);
  const links = spanLinks(span).map((link) => [link.label,
    el("a", { class: "span-link", href: linkHref(link), text: `${link.traceId}${link.spanId ? ` / ${link.spanId}` : ""}` })]);
  return el("div", { class: "details", onclick: (e) => e.stopPropagation() },
    el("div", { class: "details-grid" },
      el("div", {}, el("h3", { text: span.name || "(unnamed)" }), kvTable(info)),
      el("div", {}, el("h3", { text: `Tags (${tags.length})` }),
        tags.length ? kvTable(tags, "error") : el("div", { class: "muted", text: "No tags." })),
      links.length ? el("div", {}, el("h3", { text: `Links (${links.length})` }), kvTable(links)) : null,
      notes.length ? el("div", {}, el("h3", { text: `Annotations (${notes.length})` }), kvTable(notes)) : null),
  );
}
