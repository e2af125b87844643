// Offline SPARQL query page: gallery picker, parameter form, results table. No external code.
"use strict";

const $ = (selector) => document.querySelector(selector);
let prefixes = {};
let gallery = [];

// Compact an IRI with the longest matching namespace, as the CLI table does.
function compact(iri) {
  let best = null;
  for (const [prefix, namespace] of Object.entries(prefixes)) {
    if (iri.startsWith(namespace) && (best === null || namespace.length > prefixes[best].length)) {
      best = prefix;
    }
  }
  if (best !== null) {
    const local = iri.slice(prefixes[best].length);
    if (local && !/\s/.test(local)) return best + ":" + local;
  }
  return "<" + iri + ">";
}

function cell(term) {
  const td = document.createElement("td");
  if (!term) return td;
  if (term.type === "uri") {
    td.textContent = compact(term.value);
    td.title = term.value;
    td.className = "iri";
  } else {
    td.textContent = term.value;
    const datatype = term.datatype || "";
    if (/#(integer|decimal|double|float|int|long|nonNegativeInteger)$/.test(datatype)) {
      td.className = "num";
    }
    if (term["xml:lang"]) td.title = "@" + term["xml:lang"];
  }
  return td;
}

function setStatus(text, isError) {
  const status = $("#status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

function renderJson(data) {
  const results = $("#results");
  results.textContent = "";
  if ("boolean" in data) {
    const pre = document.createElement("pre");
    pre.textContent = String(data.boolean);
    results.appendChild(pre);
    return 1;
  }
  const vars = data.head.vars;
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  for (const name of vars) {
    const th = document.createElement("th");
    th.textContent = name;
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const binding of data.results.bindings) {
    const row = body.insertRow();
    for (const name of vars) row.appendChild(cell(binding[name]));
  }
  results.appendChild(table);
  return data.results.bindings.length;
}

function renderText(text) {
  const results = $("#results");
  results.textContent = "";
  const pre = document.createElement("pre");
  pre.textContent = text;
  results.appendChild(pre);
}

function updateDownloads() {
  const query = encodeURIComponent($("#query").value);
  for (const [id, format] of [["dl-csv", "csv"], ["dl-tsv", "tsv"], ["dl-json", "json"],
                              ["dl-xml", "xml"], ["dl-ttl", "turtle"]]) {
    $("#" + id).href = "sparql?format=" + format + "&query=" + query;
  }
}

async function run() {
  const button = $("#run");
  button.disabled = true;
  setStatus("运行中 Running…", false);
  const started = performance.now();
  try {
    const response = await fetch("sparql", {
      method: "POST",
      headers: {
        "Content-Type": "application/sparql-query",
        "Accept": "application/sparql-results+json, text/turtle;q=0.9",
      },
      body: $("#query").value,
    });
    const millis = Math.round(performance.now() - started);
    if (!response.ok) {
      $("#results").textContent = "";
      setStatus("错误 Error " + response.status + ": " + (await response.text()), true);
      return;
    }
    const type = response.headers.get("Content-Type") || "";
    let count;
    if (type.includes("json")) {
      count = renderJson(await response.json());
    } else {
      const text = await response.text();
      renderText(text);
      count = Number(response.headers.get("X-Result-Rows") || 0);
    }
    let message = count + " 行 rows · " + millis + " ms";
    if (count === 0) message = "没有结果 No results · " + millis + " ms";
    if (response.headers.get("X-Result-Truncated")) {
      message += " · 已截断 truncated at " + response.headers.get("X-Result-Limit") + " rows";
    }
    setStatus(message, false);
  } catch (error) {
    setStatus("请求失败 Request failed: " + error, true);
  } finally {
    button.disabled = false;
  }
}

// The server substitutes parameters (typed, escaped), so the page never splices strings.
async function renderGalleryQuery() {
  const name = $("#gallery").value;
  if (!name) return;
  const params = new URLSearchParams(new FormData($("#params")));
  const response = await fetch("gallery/" + encodeURIComponent(name) + "?" + params);
  if (!response.ok) {
    setStatus("参数错误 Parameter error: " + (await response.text()), true);
    return false;
  }
  $("#query").value = (await response.json()).query;
  updateDownloads();
  setStatus("", false);
  return true;
}

function showParams(entry) {
  const form = $("#params");
  form.textContent = "";
  $("#gallery-description").textContent = entry
    ? [entry.description_zh, entry.description].filter(Boolean).join(" — ")
    : "";
  if (!entry) return;
  for (const param of entry.params) {
    const label = document.createElement("label");
    label.textContent = param.name + (param.description ? " — " + param.description : "");
    const input = document.createElement("input");
    input.name = param.name;
    input.value = param.default;
    input.type = param.type === "integer" ? "number" : param.type === "date" ? "date" : "text";
    input.addEventListener("change", renderGalleryQuery);
    label.appendChild(input);
    form.appendChild(label);
  }
}

async function init() {
  $("#run").addEventListener("click", run);
  $("#query").addEventListener("input", updateDownloads);
  $("#query").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) run();
  });
  $("#params").addEventListener("submit", (event) => event.preventDefault());
  $("#gallery").addEventListener("change", async () => {
    const entry = gallery.find((item) => item.name === $("#gallery").value);
    showParams(entry);
    if (entry && (await renderGalleryQuery())) run();
  });
  updateDownloads();
  try {
    [prefixes, gallery] = await Promise.all([
      fetch("prefixes").then((r) => r.json()),
      fetch("gallery").then((r) => r.json()),
    ]);
    for (const entry of gallery) {
      const option = document.createElement("option");
      option.value = entry.name;
      option.textContent = entry.title_zh + " · " + entry.title_en;
      $("#gallery").appendChild(option);
    }
    const info = await fetch("info").then((r) => r.json());
    $("#info").textContent = info.triples + " triples · timeout " + info.timeout_seconds +
      " s · max " + info.max_rows + " rows";
  } catch (error) {
    setStatus("无法载入问题库 Cannot load the gallery: " + error, true);
  }
}

init();
