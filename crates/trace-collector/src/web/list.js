// The trace list: search form (service, span name, tag, duration, window),
// the latency scatter plot, and the table of matching traces.

import { $, el, getJSON, fmtDuration, fmtTime, fmtAgo, parseDuration, hashParams, windowParams, pill, errorBox, rendering } from "./util.js";
import { summarize } from "./model.js";
import { scatterPlot } from "./scatter.js";
import { forgetSuggestions } from "./autocomplete.js";

function fillSelect(select, values, allLabel, current) {
  select.replaceChildren(el("option", { value: "", text: allLabel }), ...values.map((v) => el("option", { value: v, text: v })));
  select.value = values.includes(current) ? current : "";
}

export async function loadSpanNames(service, current) {
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

const openTrace = (id) => { location.hash = `#/trace/${id}`; };

export function showList() {
  return rendering("list", async () => {
    document.title = "Traces · Trace Collector";
    forgetSuggestions();
    const params = hashParams();
    const service = params.get("service") || "";
    $("f-tag").value = params.get("tag") || "";
    $("f-min").value = params.get("min") || "";
    $("f-max").value = params.get("max") || "";
    $("f-lookback").value = params.get("lookback") || "all";
    $("f-end").value = params.get("end") || "";
    $("f-limit").value = params.get("limit") || "50";
    try {
      fillSelect($("f-service"), await getJSON("api/v2/services"), "All services", service);
    } catch (_) {
      fillSelect($("f-service"), [], "All services", "");
    }
    await loadSpanNames(service, params.get("span") || "");
    await search(params);
  });
}

/** Runs the search the hash parameters describe and renders plot and table. */
export async function search(params) {
  const q = new URLSearchParams({ limit: params.get("limit") || "50", ...windowParams(params.get("lookback"), params.get("end")) });
  const set = (name, value) => { if (value) q.set(name, value); };
  set("serviceName", params.get("service"));
  set("spanName", params.get("span"));
  set("annotationQuery", (params.get("tag") || "").trim());
  const min = parseDuration(params.get("min"));
  const max = parseDuration(params.get("max"));
  set("minDuration", min && String(min));
  set("maxDuration", max !== null && String(max));

  const tbody = $("trace-rows");
  const empty = $("empty");
  let traces;
  try {
    traces = await getJSON(`api/v2/traces?${q}`);
  } catch (e) {
    tbody.replaceChildren();
    $("scatter-card").replaceChildren();
    empty.hidden = false;
    empty.replaceChildren(errorBox(`Could not load traces: ${e.message}`));
    $("list-summary").textContent = "";
    return;
  }
  const summaries = traces.filter((t) => t.length).map(summarize);
  const longest = Math.max(1, ...summaries.map((s) => s.duration));
  tbody.replaceChildren(...summaries.map((s) => traceRow(s, longest)));
  $("scatter-card").replaceChildren(scatterPlot(summaries, openTrace));
  const filtered = ["service", "span", "tag", "min", "max", "end"].some((k) => params.get(k));
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
  const rootName = (s.root && s.root.name) || "(unnamed)";
  return el("tr", { class: s.errors ? "trace-row has-error" : "trace-row", "data-trace-id": s.traceId, onclick: () => openTrace(s.traceId) },
    el("td", {},
      el("a", { class: "root-name", href: `#/trace/${s.traceId}`, text: rootName }),
      el("span", { class: "trace-id", text: s.traceId })),
    el("td", {}, s.services.map(pill)),
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

/** Puts the form's filters into the hash (which re-renders the list). */
export function submitFilters(event, rerender) {
  event.preventDefault();
  const q = new URLSearchParams();
  const set = (k, v) => { if (v) q.set(k, v); };
  set("service", $("f-service").value);
  set("span", $("f-span").value);
  set("tag", $("f-tag").value.trim());
  set("min", $("f-min").value.trim());
  set("max", $("f-max").value.trim());
  if ($("f-lookback").value !== "all") q.set("lookback", $("f-lookback").value);
  set("end", $("f-end").value);
  if ($("f-limit").value !== "50") q.set("limit", $("f-limit").value);
  const next = `#/?${q}`;
  if (location.hash === next) rerender();
  else location.hash = next;
}
