// Viewing a Zipkin JSON file from disk (as Zipkin's UI allows): a list of
// spans (one trace, as the download gives), or a list of such lists.

import { $, el, errorBox, rendering } from "./util.js";
import { showSpans } from "./trace.js";
import { normalizeId } from "./model.js";

/** Traces from the last file opened, by trace id. */
const uploaded = new Map();

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const optional = (v, test) => v === undefined || v === null || test(v);

/** What about a span's fields does not match Zipkin v2 JSON, if anything. */
function shapeError(span) {
  const checks = [
    ["timestamp", (v) => Number.isFinite(v)],
    ["duration", (v) => Number.isFinite(v)],
    ["name", (v) => typeof v === "string"],
    ["parentId", (v) => typeof v === "string"],
    ["kind", (v) => typeof v === "string"],
    ["tags", isObject],
    ["annotations", (v) => Array.isArray(v) && v.every((a) => isObject(a) && Number.isFinite(a.timestamp))],
    ["localEndpoint", (v) => isObject(v) && optional(v.serviceName, (s) => typeof s === "string")],
    ["remoteEndpoint", (v) => isObject(v) && optional(v.serviceName, (s) => typeof s === "string")],
  ];
  const bad = checks.find(([field, test]) => !optional(span[field], test));
  return bad ? `${bad[0]} is not what Zipkin v2 JSON allows there` : null;
}

/** The uploaded trace with `id`; a 64-bit id and its zero-padded 128-bit form name one trace. */
function lookup(id) {
  const padded = id.length === 16 ? id.padStart(32, "0") : id.replace(/^0{16}(?=[0-9a-f]{16}$)/, "");
  return uploaded.has(id) ? id : uploaded.has(padded) ? padded : null;
}

/** Splits parsed JSON into traces; throws a readable error when it is not Zipkin v2 JSON. */
export function tracesFromJson(data) {
  const spans = Array.isArray(data) && data.every(Array.isArray) ? data.flat() : data;
  if (!Array.isArray(spans) || !spans.length) throw new Error("expected a JSON list of Zipkin v2 spans (or a list of traces)");
  const traces = new Map();
  spans.forEach((span, n) => {
    if (!span || typeof span !== "object" || typeof span.traceId !== "string" || typeof span.id !== "string") {
      throw new Error(`item ${n} is not a Zipkin v2 span (it needs string traceId and id)`);
    }
    const wrong = shapeError(span);
    if (wrong) throw new Error(`span ${n} (${span.id}): ${wrong}`);
    const id = normalizeId(span.traceId, [16, 32]);
    if (!id) throw new Error(`span ${n} (${span.id}): traceId is not 16 or 32 hex characters`);
    if (!traces.has(id)) traces.set(id, []);
    traces.get(id).push(span);
  });
  return traces;
}

async function open(file) {
  let traces;
  try {
    traces = tracesFromJson(JSON.parse(await file.text()));
  } catch (e) {
    await rendering("trace", async () => {
      $("trace-body").replaceChildren(errorBox(`Could not read ${file.name}: ${e.message}`));
    });
    return;
  }
  uploaded.clear();
  for (const [id, spans] of traces) uploaded.set(id, { spans, name: file.name });
  const first = traces.keys().next().value;
  if (location.hash === `#/upload/${first}`) showUploaded(first);
  else location.hash = `#/upload/${first}`;
}

/** Route `#/upload/<id>`: an uploaded trace, with the others of its file listed. */
export function showUploaded(wanted, selectSpan) {
  const id = lookup(wanted);
  const entry = id && uploaded.get(id);
  if (!entry) {
    return rendering("trace", async () => {
      $("trace-body").replaceChildren(errorBox("That uploaded trace is gone (uploads live only in this page); open the file again."));
    });
  }
  // Links into traces of the same file stay in the file.
  const routeOf = (traceId) => (lookup(traceId) ? "#/upload/" : "#/trace/");
  return showSpans(entry.spans, selectSpan, `from ${entry.name}`, routeOf).then(() => {
    if (uploaded.size < 2) return;
    const others = el("div", { class: "card upload-list" }, `${uploaded.size} traces in ${entry.name}: `,
      [...uploaded.keys()].map((t) => el("a", { href: `#/upload/${t}`, class: t === id ? "current" : "", text: t })));
    $("trace-body").prepend(others);
  });
}

/** Wires the "Open JSON" file input; called once. */
export function wireUpload() {
  $("upload").addEventListener("change", (e) => {
    const file = e.target.files && e.target.files[0];
    if (file) open(file);
    e.target.value = "";
  });
}
