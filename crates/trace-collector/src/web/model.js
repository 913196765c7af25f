// The trace model: parent/child rows (Zipkin's nesting rules), summaries,
// the critical path, and links from a span to other spans.

export function serviceOf(span) {
  return (span.localEndpoint && span.localEndpoint.serviceName) || "unknown";
}

export const isError = (span) => !!(span.tags && Object.prototype.hasOwnProperty.call(span.tags, "error"));

const startOf = (span) => span.timestamp || 0;
const endOf = (span) => startOf(span) + (span.duration || 0);

// Depth-first rows with Zipkin's parent rules (shared server half under its
// client half; children of an RPC under the server half). Cycles cannot loop.
export function buildRows(spans) {
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
  for (const list of children.values()) list.sort((a, b) => startOf(spans[a]) - startOf(spans[b]));
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

export function summarize(spans) {
  const rows = buildRows(spans);
  const stamps = spans.filter((s) => s.timestamp);
  const start = stamps.length ? Math.min(...stamps.map(startOf)) : 0;
  const end = stamps.length ? Math.max(...stamps.map(endOf)) : 0;
  const services = [...new Set(spans.map(serviceOf))].sort();
  const root = rows.length ? rows[0].span : spans[0];
  return {
    traceId: spans[0].traceId,
    spans,
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

/**
 * The critical path (as Jaeger draws it): from the end of the root span walk
 * back in time; the child that finished last before the cursor is on the path
 * (clipped to the cursor), the parent's own time between children too.
 * Returns, per row index, the [from, to] segments (µs) on the path.
 */
export function criticalPath(rows) {
  const kids = rows.map(() => []);
  rows.forEach((r, i) => { if (r.parentRow >= 0) kids[r.parentRow].push(i); });
  const segments = new Map();
  const add = (i, from, to) => {
    if (to <= from) return;
    if (!segments.has(i)) segments.set(i, []);
    segments.get(i).push([from, to]);
  };
  const timed = rows.map((r) => r.span.timestamp !== undefined && r.span.timestamp !== null);
  const roots = rows.map((r, i) => i).filter((i) => rows[i].depth === 0 && timed[i]);
  if (!roots.length) return segments;
  // Of several roots (orphans), the one ending last bounds the trace.
  const root = roots.reduce((a, b) => (endOf(rows[b].span) > endOf(rows[a].span) ? b : a));
  const work = [[root, endOf(rows[root].span)]];
  while (work.length) {
    const [i, end] = work.pop();
    const start = startOf(rows[i].span);
    let cursor = end;
    const children = kids[i].filter((k) => timed[k]).sort((a, b) => endOf(rows[b].span) - endOf(rows[a].span));
    for (const k of children) {
      if (cursor <= start) break;
      const kStart = Math.max(start, startOf(rows[k].span));
      if (kStart >= cursor) continue;
      const kEnd = Math.min(endOf(rows[k].span), cursor);
      add(i, kEnd, cursor);
      work.push([k, kEnd]);
      cursor = kStart;
    }
    add(i, start, cursor);
  }
  return segments;
}

const HEX = /^[0-9a-f]+$/;

/** Lowercase hex id left-padded to the first of `lengths` it fits, or null. */
export function normalizeId(value, lengths) {
  if (typeof value !== "string") return null;
  const id = value.trim().toLowerCase();
  if (!HEX.test(id)) return null;
  const size = lengths.find((n) => id.length <= n);
  return size ? id.padStart(size, "0") : null;
}

function linkFrom(traceId, spanId, label) {
  const trace = normalizeId(traceId, [16, 32]);
  const span = spanId === undefined || spanId === null ? null : normalizeId(spanId, [16]);
  return trace && (span || spanId === undefined || spanId === null) ? { traceId: trace, spanId: span, label } : null;
}

// Field names under which exporters spell a linked trace and span id.
const TRACE_KEYS = ["traceId", "trace_id", "traceID", "trace.id"];
const SPAN_KEYS = ["spanId", "span_id", "spanID", "span.id"];
const pick = (object, keys) => keys.map((k) => object[k]).find((v) => v !== undefined);

function linksInValue(value, label) {
  if (Array.isArray(value)) return value.flatMap((v, n) => linksInValue(v, `${label}[${n}]`));
  if (value && typeof value === "object") {
    const link = linkFrom(pick(value, TRACE_KEYS), pick(value, SPAN_KEYS), label);
    return link ? [link] : [];
  }
  if (typeof value === "string") {
    const text = value.trim();
    if (text.startsWith("{") || text.startsWith("[")) {
      try { return linksInValue(JSON.parse(text), label); } catch (_) { return []; }
    }
    // "traceid-spanid", "traceid:spanid", "traceid/spanid" (W3C traceparent too).
    const m = /^(?:00-)?([0-9a-fA-F]{16}|[0-9a-fA-F]{32})[-:/ ]([0-9a-fA-F]{16})(?:-[0-9a-fA-F]{2})?$/.exec(text);
    if (m) return [linkFrom(m[1], m[2], label)];
  }
  return [];
}

/**
 * Spans this span points at: a `links` field (any common spelling of ids),
 * tag pairs `<prefix>.trace_id` + `<prefix>.span_id` (the memo's
 * `sqrt.source.*`, OTLP links kept as tags), and tags named like `*link*`
 * holding ids as JSON or `traceid-spanid` text. Deduplicated; never itself.
 */
export function spanLinks(span) {
  const found = [];
  if (span.links) found.push(...linksInValue(span.links, "link"));
  const tags = span.tags || {};
  for (const [key, value] of Object.entries(tags)) {
    const m = /^(.*?)[._]?(traceId|trace_id|traceID|trace\.id)$/.exec(key);
    if (m && m[1] !== undefined) {
      const prefix = m[1];
      const spanKey = SPAN_KEYS.map((s) => [`${prefix}.${s}`, `${prefix}_${s}`, `${prefix}${s}`]).flat()
        .find((k) => tags[k] !== undefined);
      const link = linkFrom(value, spanKey ? tags[spanKey] : null, prefix || key);
      if (link) found.push(link);
    } else if (/link/i.test(key)) {
      found.push(...linksInValue(value, key));
    }
  }
  const seen = new Set();
  return found.filter((l) => {
    const id = `${l.traceId}/${l.spanId}`;
    const self = l.spanId === span.id && normalizeId(span.traceId, [16, 32]) === l.traceId;
    if (self || seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
