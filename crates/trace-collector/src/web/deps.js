// The dependency graph: services as nodes, calls between them as edges with
// call and error counts, from /api/v2/dependencies, laid out in columns
// (callers left of callees) and drawn as SVG.

import { $, el, svg, getJSON, hashParams, windowParams, serviceColor, errorBox, rendering } from "./util.js";

const NODE_W = 168;
const NODE_H = 40;
const COL_GAP = 150;
const ROW_GAP = 34;
const PAD = 24;

/** Column of each service: the longest caller chain leading to it (cycles cut). */
function columns(services, links) {
  const column = new Map(services.map((s) => [s, 0]));
  // Relax at most |services| times: a cycle cannot push columns forever.
  for (let round = 0; round < services.length; round++) {
    let moved = false;
    for (const l of links) {
      if (l.parent === l.child) continue;
      const want = column.get(l.parent) + 1;
      if (want > column.get(l.child) && want < services.length) {
        column.set(l.child, want);
        moved = true;
      }
    }
    if (!moved) break;
  }
  return column;
}

function layout(links) {
  const services = [...new Set(links.flatMap((l) => [l.parent, l.child]))].sort();
  const column = columns(services, links);
  const byColumn = new Map();
  for (const s of services) {
    const c = column.get(s);
    if (!byColumn.has(c)) byColumn.set(c, []);
    byColumn.get(c).push(s);
  }
  const tallest = Math.max(...[...byColumn.values()].map((l) => l.length));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP;
  const position = new Map();
  for (const [c, list] of byColumn) {
    const used = list.length * NODE_H + (list.length - 1) * ROW_GAP;
    list.forEach((s, n) => position.set(s, {
      x: PAD + c * (NODE_W + COL_GAP),
      y: (height - used) / 2 + n * (NODE_H + ROW_GAP),
    }));
  }
  const width = PAD * 2 + (Math.max(...byColumn.keys()) + 1) * NODE_W + Math.max(...byColumn.keys()) * COL_GAP;
  return { services, position, width, height: height + 20 };
}

function edgePath(a, b, self) {
  if (self) {
    const x = a.x + NODE_W / 2;
    return `M${x - 20},${a.y} C${x - 40},${a.y - 46} ${x + 40},${a.y - 46} ${x + 20},${a.y}`;
  }
  const forward = b.x > a.x;
  const x1 = forward ? a.x + NODE_W : a.x + NODE_W / 2;
  const y1 = forward ? a.y + NODE_H / 2 : a.y + NODE_H;
  const x2 = forward ? b.x : b.x + NODE_W / 2;
  const y2 = forward ? b.y + NODE_H / 2 : b.y + NODE_H;
  if (forward) {
    const mid = (x1 + x2) / 2;
    return `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`;
  }
  // Same or earlier column (a cycle): bend below the nodes.
  const dip = Math.max(y1, y2) + 60;
  return `M${x1},${y1} C${x1},${dip} ${x2},${dip} ${x2},${y2}`;
}

/** The graph of `links` as an SVG element. */
export function dependencyGraph(links) {
  const { services, position, width, height } = layout(links);
  const edges = links.map((l) => {
    const a = position.get(l.parent);
    const b = position.get(l.child);
    const d = edgePath(a, b, l.parent === l.child);
    const errors = l.errorCount || 0;
    const labelX = l.parent === l.child ? a.x + NODE_W / 2 : (a.x + NODE_W + b.x) / 2;
    const labelY = l.parent === l.child ? a.y - 40 : (a.y + b.y + NODE_H) / 2 - 8;
    return svg("g", {
      class: errors ? "dep-edge has-errors" : "dep-edge",
      "data-parent": l.parent, "data-child": l.child, "data-calls": l.callCount, "data-errors": errors,
    },
      svg("path", { d, "marker-end": errors ? "url(#arrow-error)" : "url(#arrow)" }),
      svg("text", { class: "edge-label", x: labelX, y: labelY, "text-anchor": "middle",
        text: `${l.callCount} call${l.callCount === 1 ? "" : "s"}${errors ? ` · ${errors} error${errors === 1 ? "" : "s"}` : ""}` }),
      svg("title", { text: `${l.parent} → ${l.child}` }));
  });
  const nodes = services.map((s) => {
    const p = position.get(s);
    return svg("g", {
      class: "dep-node", "data-service": s, transform: `translate(${p.x},${p.y})`, tabindex: "0",
      onclick: () => { location.hash = `#/?service=${encodeURIComponent(s)}`; },
    },
      svg("rect", { width: NODE_W, height: NODE_H, rx: 8, style: { stroke: serviceColor(s) } }),
      svg("circle", { cx: 16, cy: NODE_H / 2, r: 5, fill: serviceColor(s) }),
      svg("text", { x: 28, y: NODE_H / 2 + 5, text: s.length > 20 ? `${s.slice(0, 19)}…` : s }),
      svg("title", { text: s }));
  });
  const arrow = (id) => svg("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    svg("path", { d: "M0,0 L10,5 L0,10 z" }));
  return svg("svg", { class: "dep-graph", id: "dep-graph", viewBox: `0 -30 ${width} ${height + 30}`, width, role: "img", "aria-label": "Service dependency graph" },
    svg("defs", {}, arrow("arrow"), arrow("arrow-error")),
    edges, nodes);
}

function linkTable(links) {
  return el("table", { class: "traces dep-table" },
    el("thead", {}, el("tr", {}, ["Caller", "Callee", "Calls", "Errors"].map((h, n) => el("th", { class: n > 1 ? "num" : "", text: h })))),
    el("tbody", {}, links.map((l) => el("tr", { class: l.errorCount ? "has-error" : "" },
      el("td", { text: l.parent }), el("td", { text: l.child }),
      el("td", { class: "num", text: l.callCount }), el("td", { class: "num", text: l.errorCount || 0 })))));
}

export function showDependencies() {
  return rendering("deps", async () => {
    document.title = "Dependencies · Trace Collector";
    const lookback = hashParams().get("lookback") || "all";
    $("d-lookback").value = lookback;
    const body = $("deps-body");
    let links;
    try {
      links = await getJSON(`api/v2/dependencies?${new URLSearchParams(windowParams(lookback))}`);
    } catch (e) {
      body.replaceChildren(errorBox(`Could not load dependencies: ${e.message}`));
      return;
    }
    const services = new Set(links.flatMap((l) => [l.parent, l.child])).size;
    $("deps-summary").textContent = `${services} service${services === 1 ? "" : "s"}, ${links.length} link${links.length === 1 ? "" : "s"}`;
    body.replaceChildren(links.length
      ? el("div", {}, el("div", { class: "card graph-card" }, dependencyGraph(links)), el("div", { class: "card table-card" }, linkTable(links)))
      : el("div", { class: "card empty", text: "No calls between services in this window. Client spans need a remote service (remoteEndpoint.serviceName or peer.service), or a server span on the other side." }));
  });
}
