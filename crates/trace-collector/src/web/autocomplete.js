// Tag search with autocomplete from Zipkin's /api/v2/autocompleteKeys and
// /autocompleteValues: the last `key=value` term of the input is completed.

import { $, el, getJSON } from "./util.js";

let keys = null;
const values = new Map();

async function configuredKeys() {
  if (!keys) {
    try { keys = await getJSON("api/v2/autocompleteKeys"); } catch (_) { keys = []; }
  }
  return keys;
}

async function valuesOf(key) {
  if (!values.has(key)) {
    values.set(key, getJSON(`api/v2/autocompleteValues?key=${encodeURIComponent(key)}`).catch(() => []));
  }
  return values.get(key);
}

/** Drops cached keys and values, so the next suggestions see newly held spans. */
export function forgetSuggestions() {
  keys = null;
  values.clear();
}

/** Suggestions for the current text: whole-input completions of its last term. */
async function suggestions(text) {
  const at = text.lastIndexOf(" and ");
  const head = at >= 0 ? text.slice(0, at + 5) : "";
  const term = text.slice(head.length).trimStart();
  const known = await configuredKeys();
  const eq = term.indexOf("=");
  if (eq < 0) return known.filter((k) => k.startsWith(term)).map((k) => `${head}${k}=`);
  const key = term.slice(0, eq);
  if (!known.includes(key)) return [];
  const typed = term.slice(eq + 1);
  return (await valuesOf(key)).filter((v) => v.startsWith(typed)).map((v) => `${head}${key}=${v}`);
}

/** Wires the tag input to its datalist; called once. */
export function wireTagAutocomplete() {
  const input = $("f-tag");
  const list = $("tag-suggestions");
  let asked = 0;
  const refresh = async () => {
    const mine = ++asked;
    const options = await suggestions(input.value);
    if (mine !== asked) return;
    list.replaceChildren(...options.slice(0, 200).map((value) => el("option", { value })));
    list.dataset.for = input.value;
  };
  input.addEventListener("input", refresh);
  input.addEventListener("focus", refresh);
}
