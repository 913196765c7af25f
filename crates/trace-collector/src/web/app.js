// Trace Collector viewer. Reads everything through the Zipkin v2 query API:
//   #/?service=&span=&min=&lookback=&limit=   trace list (filters in the hash)
//   #/trace/<id>[?span=<spanId>] (or ?trace=<id>)  one trace as a waterfall
// Every text from spans goes in via textContent, never innerHTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  // No reds: red is reserved for errors.
  const PALETTE = ["#3d6df2", "#17a27b", "#e08a1e", "#8e5be8", "#1a9fbd", "#6f8a1f", "#5b6b8c", "#b0782a", "#4b57c7", "#2f9e8f"];

  // ---- small helpers ----------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "style") Object.assign(node.style, value);
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function serviceColor(name) {
    let hash = 0;
    for (const ch of name || "") hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
    return PALETTE[hash % PALETTE.length];
  }

  function fmtDuration(us) {
    if (us === undefined || us === null) return "?";
    if (us < 1000) return `${Math.round(us)} µs`;
    if (us < 1e6) return `${(us / 1e3).toFixed(us < 1e4 ? 2 : 1)} ms`;
    return `${(us / 1e6).toFixed(us < 1e7 ? 2 : 1)} s`;
  }

  function fmtTime(us) {
    if (!us) return "—";
    const d = new Date(us / 1000);
    const pad = (n, w = 2) => String(n).padStart(w, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function fmtAgo(us) {
    if (!us) return "";
    const s = Math.max(0, (Date.now() - us / 1000) / 1000);
    if (s < 60) return `${Math.floor(s)}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)}m ago`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
    return `${Math.floor(s / 86400)}d ago`;
  }

  // "5ms", "2.5 s", "300us", "1200" (µs) -> microseconds, or null.
  function parseDuration(text) {
    const m = /^\s*([\d.]+)\s*(us|µs|ms|s)?\s*$/i.exec(text || "");
    if (!m) return null;
    const factor = { us: 1, "µs": 1, ms: 1e3, s: 1e6 }[(m[2] || "us").toLowerCase()];
    return Math.round(parseFloat(m[1]) * factor);
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) {
      const body = (await response.text()).trim();
      const error = new Error(body || `${response.status} ${response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  function serviceOf(span) {
    return (span.localEndpoint && span.localEndpoint.serviceName) || "unknown";
  }

  const isError = (span) => !!(span.tags && Object.prototype.hasOwnProperty.call(span.tags, "error"));

  // ---- trace model --------------------------------------------------------

  // Depth-first rows with Zipkin's parent rules (shared server half under its
  // client half; children of an RPC under the server half). Cycles cannot loop.
  function buildRows(spans) {
    const byId = new Map();
    spans.forEach((s, j) => {
      if (!byId.has(s.id)) byId.set(s.id, []);
      byId.get(s.id).push(j);
    });
    const parentOf = spans.map((span, i) => {
      if (span.shared) {
        const client = (byId.get(span.id) || []).find((j) => !spans[j].shared);
        if (client !== undefined) return client;
      }
      if (!span.parentId) return -1;
      const candidates = (byId.get(span.parentId) || []).filter((j) => j !== i);
      if (!candidates.length) return -1;
      const server = candidates.find((j) => spans[j].shared);
      return server !== undefined ? server : candidates[0];
    });
    const children = new Map();
    parentOf.forEach((p, i) => {
      if (!children.has(p)) children.set(p, []);
      children.get(p).push(i);
    });
    for (const list of children.values()) {
      list.sort((a, b) => (spans[a].timestamp || 0) - (spans[b].timestamp || 0));
    }
    const rows = [];
    const seen = new Set();
    const visit = (start) => {
      const stack = [[start, 0, -1]];
      while (stack.length) {
        const [i, depth, parentRow] = stack.pop();
        if (seen.has(i)) continue;
        seen.add(i);
        const row = { span: spans[i], depth, parentRow, childCount: (children.get(i) || []).length };
        rows.push(row);
        const me = rows.length - 1;
        for (const k of (children.get(i) || []).slice().reverse()) stack.push([k, depth + 1, me]);
      }
    };
    (children.get(-1) || []).forEach(visit);
    spans.forEach((_, i) => visit(i));
    return rows;
  }

  function summarize(spans) {
    const rows = buildRows(spans);
    const stamps = spans.filter((s) => s.timestamp);
    const start = stamps.length ? Math.min(...stamps.map((s) => s.timestamp)) : 0;
    const end = stamps.length ? Math.max(...stamps.map((s) => s.timestamp + (s.duration || 0))) : 0;
    const services = [...new Set(spans.map(serviceOf))].sort();
    const root = rows.length ? rows[0].span : spans[0];
    return {
      traceId: spans[0].traceId,
      root,
      rows,
      start,
      duration: end - start,
      services,
      spanCount: spans.length,
      errors: spans.filter(isError).length,
      depth: rows.reduce((m, r) => Math.max(m, r.depth + 1), 0),
    };
  }

  // ---- header stats -------------------------------------------------------

  async function loadStats() {
    try {
      const s = await getJSON("api/collector/stats");
      $("stats").replaceChildren(
        el("span", {}, el("b", { text: s.traces }), " traces"),
        el("span", {}, el("b", { text: s.spans }), " spans"),
        el("span", {}, "cap ", el("b", { text: s.maxTraces })),
      );
    } catch (_) {
      $("stats").replaceChildren();
    }
  }

  // ---- list view ----------------------------------------------------------

  function listParams() {
    const hash = location.hash.replace(/^#\/?/, "");
    const query = hash.includes("?") ? hash.slice(hash.indexOf("?") + 1) : "";
    return new URLSearchParams(query);
  }

  function fillSelect(select, values, allLabel, current) {
    select.replaceChildren(el("option", { value: "", text: allLabel }), ...values.map((v) => el("option", { value: v, text: v })));
    select.value = values.includes(current) ? current : "";
  }

  async function loadSpanNames(service, current) {
    let names = [];
    try {
      if (service) {
        names = await getJSON(`api/v2/spans?serviceName=${encodeURIComponent(service)}`);
      } else {
        const services = await getJSON("api/v2/services");
        const lists = await Promise.all(services.map((s) => getJSON(`api/v2/spans?serviceName=${encodeURIComponent(s)}`)));
        names = [...new Set(lists.flat())].sort();
      }
    } catch (_) {
      names = [];
    }
    fillSelect($("f-span"), names, "All span names", current);
  }

  async function showList() {
    $("trace-view").hidden = true;
    $("list-view").hidden = false;
    document.body.dataset.view = "list";
    document.body.dataset.ready = "false";
    document.title = "Traces · Trace Collector";
    const params = listParams();
    const service = params.get("service") || "";
    const span = params.get("span") || "";
    $("f-min").value = params.get("min") || "";
    $("f-lookback").value = params.get("lookback") || "all";
    $("f-limit").value = params.get("limit") || "50";
    try {
      fillSelect($("f-service"), await getJSON("api/v2/services"), "All services", service);
    } catch (_) {
      fillSelect($("f-service"), [], "All services", "");
    }
    await loadSpanNames(service, span);
    await search(service, span, params);
    loadStats();
    document.body.dataset.ready = "true";
  }

  async function search(service, span, params) {
    const nowMs = Date.now();
    const lookback = params.get("lookback") || "all";
    const q = new URLSearchParams({
      limit: params.get("limit") || "50",
      endTs: String(nowMs + 60000),
      lookback: lookback === "all" ? String(nowMs + 60000) : lookback,
    });
    if (service) q.set("serviceName", service);
    if (span) q.set("spanName", span);
    const min = parseDuration(params.get("min"));
    if (min) q.set("minDuration", String(min));

    const tbody = $("trace-rows");
    const empty = $("empty");
    let traces;
    try {
      traces = await getJSON(`api/v2/traces?${q}`);
    } catch (e) {
      tbody.replaceChildren();
      empty.hidden = false;
      empty.replaceChildren(el("div", { class: "error-box", text: `Could not load traces: ${e.message}` }));
      $("list-summary").textContent = "";
      return;
    }
    const summaries = traces.filter((t) => t.length).map(summarize);
    const longest = Math.max(1, ...summaries.map((s) => s.duration));
    tbody.replaceChildren(...summaries.map((s) => traceRow(s, longest)));
    const filtered = service || span || min;
    $("list-summary").textContent = `${summaries.length} trace${summaries.length === 1 ? "" : "s"}` +
      (filtered ? " matching the filters" : "") + ", newest first";
    empty.hidden = summaries.length > 0;
    if (!summaries.length) {
      empty.replaceChildren(
        el("div", { text: filtered ? "No traces match these filters." : "No traces yet." }),
        el("div", { style: { marginTop: "8px" } },
          "Send Zipkin v2 JSON to ", el("code", { text: `${location.origin}/api/v2/spans` }),
          " or OTLP/HTTP to ", el("code", { text: `${location.origin}/v1/traces` }), "."),
      );
    }
  }

  function traceRow(s, longest) {
    const open = () => { location.hash = `#/trace/${s.traceId}`; };
    const rootName = (s.root && s.root.name) || "(unnamed)";
    return el("tr", { class: s.errors ? "trace-row has-error" : "trace-row", "data-trace-id": s.traceId, onclick: open },
      el("td", {},
        el("a", { class: "root-name", href: `#/trace/${s.traceId}`, text: rootName }),
        el("span", { class: "trace-id", text: s.traceId })),
      el("td", {}, s.services.map((name) =>
        el("span", { class: "pill" }, el("span", { class: "dot", style: { background: serviceColor(name) } }), name))),
      el("td", {}, el("span", { class: "when", text: fmtTime(s.start) }), el("span", { class: "ago", text: fmtAgo(s.start) })),
      el("td", {},
        el("div", { class: "dur" },
          el("span", { class: "dur-text", text: fmtDuration(s.duration) }),
          el("span", { class: "dur-track" },
            el("span", { class: "dur-fill", style: { width: `${Math.max(1.5, (100 * s.duration) / longest)}%`, display: "block" } })))),
      el("td", { class: "num", text: s.spanCount }),
      el("td", {}, s.errors
        ? el("span", { class: "badge error", text: `${s.errors} error${s.errors > 1 ? "s" : ""}` })
        : el("span", { class: "badge ok", text: "OK" })),
    );
  }

  function submitFilters(event) {
    event.preventDefault();
    const q = new URLSearchParams();
    const set = (k, v) => { if (v) q.set(k, v); };
    set("service", $("f-service").value);
    set("span", $("f-span").value);
    set("min", $("f-min").value.trim());
    if ($("f-lookback").value !== "all") q.set("lookback", $("f-lookback").value);
    if ($("f-limit").value !== "50") q.set("limit", $("f-limit").value);
    const next = `#/?${q}`;
    if (location.hash === next) route();
    else location.hash = next;
  }

  // ---- trace view ---------------------------------------------------------

  const traceState = { summary: null, collapsed: new Set(), selected: -1 };

  async function showTrace(id, selectSpan) {
    $("list-view").hidden = true;
    $("trace-view").hidden = false;
    document.body.dataset.view = "trace";
    document.body.dataset.ready = "false";
    const body = $("trace-body");
    body.replaceChildren(el("div", { class: "muted", text: "Loading trace…" }));
    try {
      const spans = await getJSON(`api/v2/trace/${encodeURIComponent(id)}`);
      traceState.summary = summarize(spans);
      traceState.collapsed = new Set();
      traceState.selected = traceState.summary.rows.findIndex((r) => r.span.id === selectSpan);
      renderTrace();
      const picked = document.querySelector(".wf-span.selected");
      const box = picked && picked.getBoundingClientRect();
      if (box && (box.top < 0 || box.bottom > window.innerHeight)) picked.scrollIntoView({ block: "center" });
    } catch (e) {
      const text = e.status === 404
        ? `Trace ${id} is not held by this collector (never received, or evicted by the trace cap).`
        : `Could not load trace ${id}: ${e.message}`;
      body.replaceChildren(el("div", { class: "error-box", text }));
    }
    loadStats();
    document.body.dataset.ready = "true";
  }

  function fact(label, value, cls) {
    return el("div", { class: "fact" }, el("span", { class: "k", text: label }), el("span", { class: `v ${cls || ""}`, text: value }));
  }

  function renderTrace() {
    const s = traceState.summary;
    const rootName = (s.root && s.root.name) || "(unnamed)";
    document.title = `${rootName} · Trace Collector`;
    const head = el("div", { class: "card trace-head" },
      el("h1", {}, el("span", { class: "trace-title", text: rootName }),
        s.errors ? el("span", { class: "badge error", text: `${s.errors} error${s.errors > 1 ? "s" : ""}` }) : null),
      el("div", { class: "facts" },
        fact("Trace ID", s.traceId, "mono"),
        fact("Root service", serviceOf(s.root)),
        fact("Start", fmtTime(s.start)),
        fact("Duration", fmtDuration(s.duration)),
        fact("Spans", String(s.spanCount)),
        fact("Depth", String(s.depth)),
        fact("Services", String(s.services.length))),
      el("div", { class: "legend" }, s.services.map((name) =>
        el("span", { class: "pill" }, el("span", { class: "dot", style: { background: serviceColor(name) } }), name))),
    );
    $("trace-body").replaceChildren(head, el("div", { class: "card waterfall", id: "waterfall" }));
    renderWaterfall();
  }

  function hiddenByCollapse(rows, index) {
    for (let p = rows[index].parentRow; p >= 0; p = rows[p].parentRow) {
      if (traceState.collapsed.has(p)) return true;
    }
    return false;
  }

  function renderWaterfall() {
    const s = traceState.summary;
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
      if (index === traceState.selected) rows.push(details(row.span));
    });
    $("waterfall").replaceChildren(header, ...rows);
  }

  function spanRow(row, index, total) {
    const s = traceState.summary;
    const span = row.span;
    const service = serviceOf(span);
    const color = serviceColor(service);
    const offset = span.timestamp ? span.timestamp - s.start : 0;
    const left = (100 * offset) / total;
    const width = Math.max(0.25, (100 * (span.duration || 0)) / total);
    const collapsed = traceState.collapsed.has(index);
    const toggle = el("button", {
      class: row.childCount ? "toggle" : "toggle leaf",
      title: collapsed ? "Expand" : "Collapse",
      type: "button",
      text: collapsed ? "▶" : "▼",
      onclick: (event) => {
        event.stopPropagation();
        if (collapsed) traceState.collapsed.delete(index);
        else traceState.collapsed.add(index);
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
      el("span", { class: "mark", title: a.value, style: { left: `${(100 * (a.timestamp - s.start)) / total}%` } }));
    return el("div", {
      class: `wf-row wf-span${index === traceState.selected ? " selected" : ""}`,
      "data-span-id": span.id,
      onclick: () => {
        traceState.selected = traceState.selected === index ? -1 : index;
        renderWaterfall();
      },
    },
      el("div", { class: "wf-label" },
        el("span", { class: "indent", style: { width: `${10 + row.depth * 18}px` } }),
        toggle,
        el("span", { class: "svc", style: { color, background: `${color}1f` }, text: service }),
        el("span", { class: "span-name", title: span.name || "", text: span.name || "(unnamed)" }),
        isError(span) ? el("span", { class: "err-mark", title: "error", text: "!" }) : null),
      el("div", { class: "wf-track" },
        el("span", { class: `bar${isError(span) ? " error" : ""}`, style: { left: `${left}%`, width: `${width}%`, background: isError(span) ? "#e25555" : color } }),
        marks,
        label),
    );
  }

  function kvTable(pairs, errorKey) {
    return el("table", { class: "kv" }, el("tbody", {}, pairs.map(([k, v]) =>
      el("tr", { class: k === errorKey ? "error-tag" : "" }, el("td", { text: k }), el("td", { text: v })))));
  }

  function endpointText(ep) {
    if (!ep) return null;
    const addr = ep.ipv4 || ep.ipv6;
    return [ep.serviceName, addr ? `${addr}${ep.port ? `:${ep.port}` : ""}` : null].filter(Boolean).join(" @ ");
  }

  function details(span) {
    const s = traceState.summary;
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
    return el("div", { class: "details", onclick: (e) => e.stopPropagation() },
      el("div", { class: "details-grid" },
        el("div", {}, el("h3", { text: span.name || "(unnamed)" }), kvTable(info)),
        el("div", {}, el("h3", { text: `Tags (${tags.length})` }),
          tags.length ? kvTable(tags, "error") : el("div", { class: "muted", text: "No tags." })),
        notes.length ? el("div", {}, el("h3", { text: `Annotations (${notes.length})` }), kvTable(notes)) : null),
    );
  }

  // ---- routing ------------------------------------------------------------

  function route() {
    const fromQuery = new URLSearchParams(location.search).get("trace");
    const m = /^#\/trace\/([0-9a-fA-F]+)(?:\?span=([0-9a-fA-F]+))?/.exec(location.hash);
    if (m) showTrace(m[1], m[2]);
    else if (fromQuery && !location.hash) showTrace(fromQuery);
    else showList();
  }

  // Auto-refresh re-runs the current search quietly; off unless chosen.
  let liveTimer = null;
  function setLive(on) {
    $("live").checked = on;
    try { localStorage.setItem("trace-collector.live", on ? "1" : "0"); } catch (_) { /* private mode */ }
    clearInterval(liveTimer);
    liveTimer = on ? setInterval(() => {
      if (!$("list-view").hidden && !document.hidden) {
        const params = listParams();
        search(params.get("service") || "", params.get("span") || "", params).then(loadStats);
      }
    }, 5000) : null;
  }
  let liveStored = null;
  try { liveStored = localStorage.getItem("trace-collector.live"); } catch (_) { /* private mode */ }
  setLive(liveStored === "1");
  $("live").addEventListener("change", () => setLive($("live").checked));

  $("filters").addEventListener("submit", submitFilters);
  $("f-service").addEventListener("change", () => loadSpanNames($("f-service").value, ""));
  $("f-reset").addEventListener("click", () => { location.hash = "#/"; });
  window.addEventListener("hashchange", route);
  route();
})();
