// Shared helpers of the viewer: DOM and SVG builders, formatting, fetching.
// Text from spans always goes in via textContent or attributes, never as markup.

export const $ = (id) => document.getElementById(id);

// No reds: red is reserved for errors.
const PALETTE = ["#3d6df2", "#17a27b", "#e08a1e", "#8e5be8", "#1a9fbd", "#6f8a1f", "#5b6b8c", "#b0782a", "#4b57c7", "#2f9e8f"];
const SVG_NS = "http://www.w3.org/2000/svg";

function build(node, props, children) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.setAttribute("class", value);
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

/** An HTML element with attributes (`text`, `class`, `style`, `on…` handled) and children. */
export function el(tag, props, ...children) {
  return build(document.createElement(tag), props, children);
}

/** The same for SVG elements. */
export function svg(tag, props, ...children) {
  return build(document.createElementNS(SVG_NS, tag), props, children);
}

export function serviceColor(name) {
  let hash = 0;
  for (const ch of name || "") hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

export function fmtDuration(us) {
  if (us === undefined || us === null) return "?";
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1e6) return `${(us / 1e3).toFixed(us < 1e4 ? 2 : 1)} ms`;
  return `${(us / 1e6).toFixed(us < 1e7 ? 2 : 1)} s`;
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

export function fmtTime(us) {
  if (!us) return "—";
  const d = new Date(us / 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Time of day; with milliseconds when `fine` (axes spanning seconds). */
export function fmtClock(us, fine) {
  const d = new Date(us / 1000);
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return fine ? `${clock}.${pad(d.getMilliseconds(), 3)}` : clock;
}

export function fmtAgo(us) {
  if (!us) return "";
  const s = Math.max(0, (Date.now() - us / 1000) / 1000);
  if (s < 60) return `${Math.floor(s)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** "5ms", "2.5 s", "300us", "1200" (µs) -> microseconds, or null. */
export function parseDuration(text) {
  const m = /^\s*([\d.]+)\s*(us|µs|ms|s)?\s*$/i.exec(text || "");
  if (!m) return null;
  const factor = { us: 1, "µs": 1, ms: 1e3, s: 1e6 }[(m[2] || "us").toLowerCase()];
  return Math.round(parseFloat(m[1]) * factor);
}

export async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    const body = (await response.text()).trim();
    const error = new Error(body || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

/** Query parameters of the hash route (`#/page?a=b`). */
export function hashParams() {
  const hash = location.hash;
  return new URLSearchParams(hash.includes("?") ? hash.slice(hash.indexOf("?") + 1) : "");
}

/** The time windows every page offers, as lookback milliseconds. */
const WINDOWS = [["900000", "Last 15 minutes"], ["3600000", "Last hour"], ["86400000", "Last day"],
  ["604800000", "Last 7 days"], ["all", "Everything held"]];

/** Fills each `select[data-windows]` with the time windows, "Everything held" chosen. */
export function fillWindowSelects() {
  for (const select of document.querySelectorAll("select[data-windows]")) {
    select.replaceChildren(...WINDOWS.map(([value, text]) => el("option", { value, text })));
    select.value = "all";
  }
}

/**
 * `endTs`/`lookback` (milliseconds) for a lookback choice ("all" reaches back
 * to the epoch) ending at `end` (a datetime-local value; default: now).
 */
export function windowParams(lookback, end) {
  const chosen = end ? new Date(end).getTime() : NaN;
  const endTs = Number.isFinite(chosen) ? chosen : Date.now() + 60000;
  return { endTs: String(endTs), lookback: !lookback || lookback === "all" ? String(endTs) : String(lookback) };
}

export function pill(name) {
  return el("span", { class: "pill" }, el("span", { class: "dot", style: { background: serviceColor(name) } }), name);
}

export function errorBox(text) {
  return el("div", { class: "error-box", text });
}

let generation = 0;

/**
 * Shows the section `<view>-view` alone and marks the page busy until `work`
 * settles; tests wait for data-ready="true". A render overtaken by a newer
 * route does not mark the page ready.
 */
export async function rendering(view, work) {
  const mine = ++generation;
  for (const section of document.querySelectorAll("main > .view")) section.hidden = section.id !== `${view}-view`;
  for (const link of document.querySelectorAll(".nav a")) link.classList.toggle("active", link.dataset.nav === view);
  document.body.dataset.view = view;
  document.body.dataset.ready = "false";
  try {
    await work(() => mine === generation);
  } finally {
    if (mine === generation) document.body.dataset.ready = "true";
  }
}
