// Trace Collector viewer. Reads everything through the collector's HTTP API:
//   #/?service=&span=&tag=&min=&max=&lookback=&end=&limit=   trace list over a latency scatter plot
//   #/trace/<id>[?span=<spanId>] (or ?trace=<id>)      one trace as a waterfall
//   #/dependencies[?lookback=]                          service dependency graph
//   #/operations[?service=&lookback=]                   per-operation latency statistics
//   #/metrics                                           cache hit ratio and latency from OTLP metrics
//   #/upload/<id>                                       a trace from an opened JSON file
// Every text from spans goes in via textContent, never innerHTML.

import { $, el, getJSON, hashParams, fillWindowSelects } from "./util.js";
import { showList, search, submitFilters, loadSpanNames } from "./list.js";
import { showTrace } from "./trace.js";
import { showDependencies } from "./deps.js";
import { showOperations } from "./ops.js";
import { showMetrics } from "./metrics.js";
import { showUploaded, wireUpload } from "./upload.js";
import { wireTagAutocomplete } from "./autocomplete.js";

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

function route() {
  const hash = location.hash;
  const fromQuery = new URLSearchParams(location.search).get("trace");
  const trace = /^#\/trace\/([0-9a-fA-F]+)(?:\?span=([0-9a-fA-F]+))?/.exec(hash);
  const upload = /^#\/upload\/([0-9a-fA-F]+)(?:\?span=([0-9a-fA-F]+))?/.exec(hash);
  let shown;
  if (trace) shown = showTrace(trace[1], trace[2]);
  else if (upload) shown = showUploaded(upload[1].toLowerCase(), upload[2]);
  else if (/^#\/dependencies/.test(hash)) shown = showDependencies();
  else if (/^#\/operations/.test(hash)) shown = showOperations();
  else if (/^#\/metrics/.test(hash)) shown = showMetrics();
  else if (fromQuery && !hash) shown = showTrace(fromQuery);
  else shown = showList();
  shown.finally(loadStats);
}

// Auto-refresh re-runs the current search quietly; off unless chosen.
let liveTimer = null;
function setLive(on) {
  $("live").checked = on;
  try { localStorage.setItem("trace-collector.live", on ? "1" : "0"); } catch (_) { /* private mode */ }
  clearInterval(liveTimer);
  liveTimer = on ? setInterval(() => {
    if (!$("list-view").hidden && !document.hidden) search(hashParams()).then(loadStats);
  }, 5000) : null;
}
let liveStored = null;
try { liveStored = localStorage.getItem("trace-collector.live"); } catch (_) { /* private mode */ }
setLive(liveStored === "1");
$("live").addEventListener("change", () => setLive($("live").checked));

$("filters").addEventListener("submit", (e) => submitFilters(e, route));
$("f-service").addEventListener("change", () => loadSpanNames($("f-service").value, ""));
$("f-reset").addEventListener("click", () => { location.hash = "#/"; });
// The window pickers of the graph and operations pages live in their hash.
const pickWindow = (page, extra) => () => {
  const q = new URLSearchParams(extra ? extra() : {});
  const lookback = $(page === "dependencies" ? "d-lookback" : "o-lookback").value;
  if (lookback !== "all") q.set("lookback", lookback);
  location.hash = `#/${page}${q.toString() ? `?${q}` : ""}`;
};
$("d-lookback").addEventListener("change", pickWindow("dependencies"));
const opsFilter = pickWindow("operations", () => ($("o-service").value ? { service: $("o-service").value } : {}));
$("o-lookback").addEventListener("change", opsFilter);
$("o-service").addEventListener("change", opsFilter);
fillWindowSelects();
wireTagAutocomplete();
wireUpload();
window.addEventListener("hashchange", route);
route();
