// The UI's pages: Home, Lineage explorer, Dataset, Incident, Search. Data from /api/v1 only; when the
// server has a token, it is asked for once per tab (sessionStorage) and sent as a Bearer header.
"use strict";

const TOKEN_KEY = "obs-lineage-token";

// ------------------------------------------------------------------ DOM helpers (text only: no HTML from data)
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}
const fmt = (v) => Charts.fmt(v);
const short = (iso) => (iso ? iso.slice(5, 16).replace("T", " ") : "–");
const when = (iso) => (iso ? iso.replace("T", " ").replace(/(\.\d+)?(\+00:00|Z)$/, "") + " UTC" : "–");
const badge = (text, cls) => h("span", { class: `badge ${cls || text}` }, text);
const section = (title, ...body) => h("section", { class: "card" }, h("h2", {}, title), ...body);
const datasetHref = (ns, name) => `/datasets/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
const lineageHref = (ns, name, type = "dataset", extra = {}) =>
  "/lineage?" + new URLSearchParams({ type, namespace: ns, name, ...extra }).toString();
function table(head, rows, cls = "") {
  return h("table", { class: cls }, h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));
}
const empty = (text) => h("p", { class: "muted" }, text);

// ------------------------------------------------------------------ API with the bearer token
function askToken(message) {
  const dialog = document.getElementById("token-dialog");
  document.getElementById("token-error").textContent = message || "";
  return new Promise((resolve) => {
    const form = document.getElementById("token-form");
    form.onsubmit = (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, document.getElementById("token-input").value.trim());
      dialog.close();
      resolve();
    };
    dialog.showModal();
  });
}

async function api(path, options = {}) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(path, { ...options, headers, credentials: "omit" });
    if (res.status === 401) {
      await askToken(token ? "That token was refused; try again." : "");
      continue;
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(body.message || body.detail?.[0]?.msg || `${res.status} ${res.statusText}`), { body });
    return body;
  }
  throw new Error("no accepted token");
}

// ------------------------------------------------------------------ Home
function healthTable(groups, kind) {
  if (!groups.length) return empty("No produced datasets yet.");
  return table([kind, "health", "datasets", "worst"], groups.map((g) => [
    g.group, scoreBar(g.score), String(g.datasets.length),
    h("span", {}, g.datasets.slice(0, 3).map((d) => h("a", { href: datasetHref(d.namespace, d.name), class: "chip trunc", title: d.name },
      `${d.name} ${fmt(d.score)}`))),
  ]), "compact");
}
function scoreBar(score) {
  const cls = score >= 90 ? "ok" : score >= 60 ? "warn" : "bad";
  const bar = h("span", { class: `score ${cls}`, title: `${score} / 100` });
  bar.append(h("span", { class: "fill", "data-score": score }));
  bar.lastChild.style.width = `${Math.max(0, Math.min(100, score))}%`;
  return h("span", { class: "score-wrap" }, bar, ` ${fmt(score)}`);
}
function runRows(runs) {
  return runs.map((r) => [h("span", { class: "nowrap", title: when(r.time) }, short(r.time)),
    h("a", { href: lineageHref(r.job.namespace, r.job.name, "job"), class: "trunc", title: r.job.name }, r.job.name),
    r.job.namespace, badge(r.state || "?", (r.state || "").toLowerCase())]);
}

async function pageHome(root) {
  const data = await api("/api/v1/ui/home");
  const incidents = data.incidents.length
    ? table(["#", "severity", "status", "title", "partitions", "last seen"], data.incidents.map((i) => [
      h("a", { href: `/incidents/${i.id}` }, `#${i.id}`), badge(i.severity), badge(i.status),
      h("a", { href: `/incidents/${i.id}` }, i.title), i.partitions.join(", "), h("span", { class: "nowrap" }, short(i.last_seen))]))
    : empty("No open incident.");
  const producers = data.producers.length
    ? Charts.bars(data.producers.map((p) => ({ label: shortProducer(p.producer), value: p.events })), { width: 520 })
    : empty("No events stored.");
  root.replaceChildren(
    h("h1", {}, "Overview"),
    h("div", { class: "grid two" },
      section("Open incidents", incidents),
      section("Events by producer", producers, h("p", { class: "muted small" }, `${data.producers.length} producers`))),
    h("div", { class: "grid two" },
      section("Health by pipeline (job namespace)", healthTable(data.health.pipeline, "pipeline")),
      section("Health by dataset namespace", healthTable(data.health.namespace, "namespace"))),
    h("div", { class: "grid two" },
      section("Recent runs", data.recent_runs.length ? table(["time (UTC)", "job", "namespace", "state"], runRows(data.recent_runs), "compact") : empty("No runs.")),
      section("Recent failures", data.failures.length ? table(["time (UTC)", "job", "namespace", "state"], runRows(data.failures), "compact") : empty("No failed run."))));
}
function shortProducer(url) {
  // https://github.com/OpenLineage/OpenLineage/tree/1.19.0/integration/spark -> OpenLineage/spark@1.19.0
  const m = url.match(/github\.com\/[^/]+\/([^/]+)(?:\/tree\/([^/]+))?(?:\/integration)?(\/[^?#]*)?$/);
  return m ? `${m[1]}${m[3] || ""}${m[2] ? "@" + m[2] : ""}` : url;
}

// ------------------------------------------------------------------ Lineage explorer
function explorerForm(params) {
  const field = (label, input) => h("label", {}, label, input);
  return h("form", { class: "toolbar", method: "get", action: "/lineage" },
    field("type", h("select", { name: "type" },
      ["dataset", "job"].map((t) => h("option", { value: t, selected: params.get("type") === t }, t)))),
    field("namespace", h("input", { name: "namespace", value: params.get("namespace") || "", size: 22 })),
    field("name", h("input", { name: "name", value: params.get("name") || "", size: 36, required: true })),
    field("up", h("input", { name: "up", type: "number", min: 0, max: 100, value: params.get("up") ?? 2 })),
    field("down", h("input", { name: "down", type: "number", min: 0, max: 100, value: params.get("down") ?? 2 })),
    field("as of (UTC)", h("input", { name: "as_of", value: params.get("as_of") || "", placeholder: "2026-03-07T00:00:00Z", size: 20 })),
    h("button", { type: "submit" }, "Draw"));
}
const legend = () => h("p", { class: "legend" }, "state: ",
  ["failing", "drift", "running", "ok", "unknown"].map((s) => h("span", { class: `chip state-${s}` }, s)),
  h("span", { class: "chip on-path" }, "propagation path"), h("span", { class: "chip col-src" }, "column source (direct)"),
  h("span", { class: "chip col-indirect" }, "column source (indirect)"));

async function pageLineage(root) {
  const params = new URLSearchParams(location.search);
  root.replaceChildren(h("h1", {}, "Lineage explorer"), explorerForm(params), legend());
  if (!params.get("name")) {
    const list = await api("/api/v1/lineage/datasets?limit=200");
    root.append(section("Datasets", list.length ? h("ul", { class: "columns-list" }, list.map((d) => h("li", {},
      h("a", { href: lineageHref(d.namespace, d.name) }, d.name), h("span", { class: "muted" }, ` ${d.namespace}`)))) : empty("No datasets stored.")));
    return;
  }
  const query = new URLSearchParams({ name: params.get("name"), type: params.get("type") || "dataset" });
  for (const k of ["namespace", "up", "down", "as_of"]) if (params.get(k)) query.set(k, params.get(k));
  const status = h("p", { class: "muted", id: "graph-status" }, "Loading lineage…");
  const holder = h("div", { class: "graph-holder", id: "graph" });
  const side = h("aside", { class: "side card", id: "side" }, empty("Click a node: its columns, their lineage, links."));
  root.append(status, h("div", { class: "explorer" }, holder, side));
  const t0 = performance.now();
  const data = await api("/api/v1/ui/lineage?" + query.toString());
  const graph = LineageGraph.draw(holder, data, { onSelect: (n) => showNode(side, graph, n, params) });
  const total = performance.now() - t0;
  status.textContent = `${data.nodes.filter((n) => n.type === "dataset").length} datasets, ` +
    `${data.nodes.filter((n) => n.type === "job").length} jobs, ${data.edges.length} edges` +
    (data.as_of ? ` as of ${when(data.as_of)}` : "") + ` — drawn in ${Math.round(total)} ms`;
  holder.dataset.loadMs = total.toFixed(1);
  const deeper = (key) => {
    const next = new URLSearchParams(location.search);
    next.set(key, String(Number(next.get(key) ?? 2) + 1));
    return "/lineage?" + next.toString();
  };
  status.append(" · ", h("a", { href: deeper("up"), id: "more-up" }, "expand upstream +1"), " · ",
    h("a", { href: deeper("down"), id: "more-down" }, "expand downstream +1"));
  window.__lineageTiming = { nodes: data.nodes.length, totalMs: total, renderMs: graph.renderMs };
  // Since navigation start, after the browser has painted the graph (two animation frames).
  requestAnimationFrame(() => requestAnimationFrame(() => { window.__lineageTiming.paintedAt = performance.now(); }));
  const rootNode = data.nodes.find((n) => n.key === data.root.key);
  if (rootNode) {
    graph.select(rootNode.key);
    await showNode(side, graph, rootNode, params);
  }
}

async function showNode(side, graph, node, params) {
  const links = h("p", {},
    node.type === "dataset" ? h("a", { href: datasetHref(node.namespace, node.name), class: "button" }, "Dataset page") : null, " ",
    h("a", { href: lineageHref(node.namespace, node.name, node.type, { up: params.get("up") ?? 2, down: params.get("down") ?? 2 }), class: "button" }, "Focus here"));
  side.replaceChildren(h("h2", {}, node.name), h("p", { class: "muted" }, `${node.type} in ${node.namespace}`),
    h("p", {}, "state: ", badge(node.state, `state-${node.state}`)), links);
  if (node.type !== "dataset") return;
  const cols = await api("/api/v1/ui/columns?" + new URLSearchParams({ name: node.name, namespace: node.namespace }));
  const out = h("div", { id: "column-lineage" });
  const pick = async (column) => {
    for (const li of side.querySelectorAll("li[data-column]")) li.classList.toggle("selected", li.dataset.column === column);
    const res = await api("/api/v1/lineage/columns?" + new URLSearchParams({ name: node.name, namespace: node.namespace, column, direction: "upstream" }));
    const key = (c) => `dataset:${c.namespace}:${c.name}`;
    graph.mark("col-src", res.columns.filter((c) => !c.indirect).map(key));
    graph.mark("col-indirect", res.columns.filter((c) => c.indirect).map(key));
    out.replaceChildren(h("h3", {}, `Sources of ${column}`), res.columns.length ? table(["column", "dataset", "how", "via"],
      res.columns.map((c) => [c.field ?? "(whole dataset)", h("a", { href: datasetHref(c.namespace, c.name) }, c.name),
        badge(c.indirect ? "indirect" : "direct"), c.transformations.map((t) => [t.type, t.subtype].filter(Boolean).join("/")).join(", ")]), "compact")
      : empty("No upstream column."));
  };
  side.append(h("h3", {}, "Columns"), cols.columns.length ? h("ul", { class: "columns-list" }, cols.columns.map((c) => {
    const has = cols.with_lineage.includes(c);
    return h("li", { "data-column": c, class: has ? "has-lineage" : "" },
      has ? h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); pick(c); } }, c) : c);
  })) : empty("No schema stored."), out);
  const wanted = params.get("column");
  if (wanted && cols.with_lineage.includes(wanted) && node.name === params.get("name")) await pick(wanted);
}

// ------------------------------------------------------------------ Dataset page
async function pageDataset(root) {
  const parts = location.pathname.split("/").slice(2).map(decodeURIComponent);
  const [namespace, name] = [parts[0], parts.slice(1).join("/")];
  const d = await api("/api/v1/ui/dataset?" + new URLSearchParams({ namespace, name }));
  root.replaceChildren(
    h("h1", {}, d.dataset.name), h("p", { class: "muted" }, d.dataset.namespace, " · ",
      h("a", { href: lineageHref(d.dataset.namespace, d.dataset.name), id: "lineage-link" }, "lineage"), ` · ${d.total_runs} runs`),
    h("div", { class: "grid two" }, schemaSection(d.schema_versions), metricsSection(d.series, d.drift)),
    driftSection(d.drift, d.drift_drawn_from),
    monitoringSection(d.monitoring || []),
    section("Run history (with check results)", runsTable(d.runs)));
}

// Model monitoring: the newest evaluation of each check first, the full history by partition below it.
function monitoringSection(rows) {
  if (!rows.length) return section("Model monitoring", empty("No model-monitoring facet stored for this dataset."));
  const latest = new Map();
  for (const r of rows) latest.set(r.check, r);  // rows come by partition then time: the last one wins
  const line = (r) => [r.check, r.partition || "–", badge(r.status, r.status), r.finding];
  const shown = [...latest.values()].sort((a, b) => a.check.localeCompare(b.check));
  const history = h("details", {}, h("summary", {}, `All ${rows.length} evaluations by partition`),
    table(["check", "partition", "status", "finding"], rows.map(line), "compact monitoring-history"));
  return h("section", { class: "card", id: "model-monitoring" }, h("h2", {}, "Model monitoring"),
    h("p", { class: "muted" }, "Latest evaluation of each check: estimated and realized performance, SHAP explanation " +
      "drift, regressions over partitions, volume and freshness anomalies, segments. Aggregates only."),
    table(["check", "partition", "status", "finding"], shown.map(line), "monitoring-latest"), history);
}

function schemaSection(versions) {
  if (!versions.length) return section("Schema", empty("No schema facet stored."));
  const latest = versions[versions.length - 1];
  const changes = versions.slice(1).reverse().map((v) => h("li", {}, when(v.time), ": ",
    v.changes.added.map((c) => h("span", { class: "chip added" }, `+ ${c}`)),
    v.changes.removed.map((c) => h("span", { class: "chip removed" }, `− ${c}`)),
    v.changes.retyped.map((c) => h("span", { class: "chip retyped" }, `${c.field}: ${c.from} → ${c.to}`))));
  return section(`Schema (${versions.length} version${versions.length > 1 ? "s" : ""})`,
    table(["column", "type"], latest.fields.map((f) => [f.name, f.type || "–"]), "compact schema"),
    h("h3", {}, "Changes across versions"), changes.length ? h("ul", { class: "changes" }, changes) : empty("Unchanged since first seen."));
}

function runsTable(runs) {
  if (!runs.length) return empty("No runs.");
  return table(["started", "job", "role", "state", "partition", "checks"], runs.map((r) => [
    when(r.started_at), h("a", { href: lineageHref(r.job.namespace, r.job.name, "job") }, r.job.name), r.roles.join("+"),
    badge(r.state || "?", (r.state || "").toLowerCase()), r.partition || "–",
    h("span", {}, r.checks.map((c) => h("span", { class: `chip ${c.success ? "pass" : "fail"}`, title: c.severity || "" },
      `${c.success ? "✓" : "✗"} ${c.assertion}${c.column ? " on " + c.column : ""}`)))]), "compact runs");
}

function driftSection(reports, drawnFrom) {
  if (!reports.length) return section("Drift", empty("No drift facet stored for this dataset."));
  const box = h("div", { id: "drift-report" });
  const chooser = h("div", { class: "chooser" });
  const show = (i) => {
    for (const b of chooser.children) b.classList.toggle("selected", Number(b.dataset.i) === i);
    box.replaceChildren(driftReport(reports[i], drawnFrom));
  };
  reports.forEach((r, i) => chooser.append(h("button", { type: "button", "data-i": i, "data-partition": r.partition || "",
    class: anyDrift(r) ? "drifted" : "", onclick: () => show(i) }, r.partition || when(r.time))));
  const worst = reports.map((r, i) => [r, i]).filter(([r]) => anyDrift(r)).pop();
  const wanted = new URLSearchParams(location.search).get("partition");
  const pick = reports.findIndex((r) => r.partition === wanted);
  show(pick >= 0 ? pick : worst ? worst[1] : reports.length - 1);
  return section("Drift report per partition", chooser, box);
}

const anyDrift = (r) => r.drifted || r.columns.some((c) => c.drifted);

function driftReport(r, drawnFrom) {
  const cols = r.columns.map((c) => [c.column, c.kind || "–", c.test || "–", fmt(c.statistic), fmt(c.p_value), fmt(c.threshold),
    c.drifted ? badge("drifted", "fail") : badge("stable", "pass"), c.status || ""]);
  const charts = h("div", { class: "grid charts" });
  for (const c of r.columns) {
    const card = h("div", { class: "chart-card", "data-column": c.column }, h("h4", {}, c.column, c.drifted ? " (drifted)" : ""));
    if (c.distribution) {
      card.append(Charts.line(c.distribution.levels.map((q) => `q${q}`), [
        { name: `reference (${c.distribution.reference_partitions} partitions, median)`, values: c.distribution.reference, cls: "reference" },
        { name: `current ${r.partition || ""}`, values: c.distribution.current, cls: "current" }],
      { width: 420, height: 200, title: "quantiles: reference vs current" }));
    }
    if (c.null_reference !== null || c.null_current !== null) {
      card.append(Charts.bars([{ label: "null share reference", value: c.null_reference ?? 0, cls: "reference" },
        { label: "null share current", value: c.null_current ?? 0, cls: "current" }], { width: 420, max: 1 }));
    }
    if (card.children.length > 1) charts.append(card);
  }
  return h("div", { class: "drift", "data-partition": r.partition || "" },
    h("p", {}, `Partition ${r.partition || "(unpartitioned)"}: `, r.drifted ? badge("drifted", "fail") : badge("no drift", "pass"),
      ` share of drifted columns ${fmt(r.share_drifted)}`, r.threshold !== null ? ` (threshold ${fmt(r.threshold)})` : "",
      r.reference_partitions.length ? ` · reference: ${r.reference_partitions.join(", ")}` : "",
      r.current_rows !== null ? ` · rows reference ${fmt(r.reference_rows)} / current ${fmt(r.current_rows)}` : ""),
    table(["column", "kind", "test", "statistic", "p-value", "threshold", "verdict", "status"], cols, "compact drift-table"),
    charts, h("p", { class: "muted small drawn-from" }, drawnFrom));
}

function metricsSection(series, drift) {
  if (!series.length) return section("Metrics over partitions", empty("No metrics facet stored."));
  const x = series.map((p) => p.partition || "(run)");
  const names = [...new Set(series.flatMap((p) => Object.keys(p.values)))];
  const marks = drift.filter(anyDrift).map((r) => r.partition);
  const box = h("div", { class: "metric-charts" });
  const groups = [names.filter((n) => n === "row count"), names.filter((n) => n.startsWith("null rate")),
    names.filter((n) => n === "drift share"), names.filter((n) => !["row count", "drift share"].includes(n) && !n.startsWith("null rate"))];
  for (const group of groups.filter((g) => g.length)) {
    box.append(Charts.line(x, group.slice(0, 6).map((n) => ({ name: n, values: series.map((p) => p.values[n] ?? null) })),
      { width: 560, height: 200, title: group.length === 1 ? group[0] : group[0].split(" ").slice(0, 2).join(" "), marks }));
  }
  return section("Metrics over partitions", box, h("p", { class: "muted small" }, "x: partition (shaded: drifted)."));
}

// ------------------------------------------------------------------ Incident page
async function pageIncident(root) {
  const id = location.pathname.split("/")[2];
  const page = await api(`/api/v1/ui/incidents/${encodeURIComponent(id)}`);
  const inc = page.incident;
  const act = (verb) => h("button", { type: "button", disabled: inc.status === "resolved" || inc.status === verb,
    onclick: async () => { await api(`/api/v1/incidents/${inc.id}/${verb === "acknowledged" ? "ack" : "resolve"}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" }); route(); } },
  verb === "acknowledged" ? "Acknowledge" : "Resolve");
  const failed = inc.affected.map((a) => [
    h("a", { href: datasetHref(a.namespace, a.dataset) + (a.partition ? `?partition=${encodeURIComponent(a.partition)}` : "") }, a.dataset),
    h("span", { class: "nowrap" }, a.partition || "–"),
    h("span", {}, Object.entries(a.checks).map(([check, state]) => h("span", { class: `chip ${state === "failing" ? "fail" : "pass"}`, title: state },
      `${state === "failing" ? "✗" : "✓"} ${check}`)))]);
  const causes = inc.causes.map((c, i) => h("li", { class: i === 0 ? "top-cause" : "" },
    h("strong", {}, `${fmt(c.score)} ${c.kind}`), " at ", h("a", { href: datasetHref(c.namespace, c.asset) }, c.asset + (c.column ? `.${c.column}` : "")),
    c.partition ? ` (partition ${c.partition})` : "", h("br"), h("span", { class: "muted" }, "path: ", (c.column_path?.length ? c.column_path : c.path || []).join(" → ")),
    h("ul", { class: "evidence" }, (c.evidence || []).map((e) => h("li", {}, badge(e.source, "neutral"), ` ${e.detail}`)))));
  const holder = h("div", { class: "graph-holder small", id: "graph" });
  const impact = page.impact;
  root.replaceChildren(
    h("h1", {}, `Incident #${inc.id}: ${inc.title}`),
    h("p", {}, badge(inc.severity), " ", badge(inc.status), ` first seen ${when(inc.first_seen)}, last ${when(inc.last_seen)}`,
      inc.partitions.length ? ` · partitions ${inc.partitions.join(", ")}` : "", " ", act("acknowledged"), " ", act("resolved")),
    section("Propagation on the lineage (cause → affected)", legend(), holder),
    h("div", { class: "grid two" },
      section("Ranked causes", causes.length ? h("ol", { class: "causes" }, causes) : empty("No cause found.")),
      section("Failed checks", failed.length ? table(["dataset", "partition", "checks (✗ failing, ✓ passing again)"], failed, "compact failed-checks") : empty("None."))),
    h("div", { class: "grid two" },
      section("Blast radius", impact ? blast(impact) : empty(page.graph_error || "Unknown.")),
      section("Timeline", h("ol", { class: "timeline" }, inc.timeline.map((e) => h("li", {}, h("span", { class: "muted" }, when(e.time)), " ",
        badge(e.kind, "neutral"), " ", [e.dataset, e.partition, (e.checks || []).join(", "), e.cause, e.by].filter(Boolean).join(" · ")))))));
  if (page.graph) {
    LineageGraph.draw(holder, page.graph, { marks: { "on-path": page.path, affected: page.affected_keys || [] } });
  } else holder.append(empty(page.graph_error || "The cause is not in the lineage graph."));
}

function blast(impact) {
  const list = (items) => items.length ? h("ul", {}, items.map((i) => h("li", {}, h("a", { href: datasetHref(i.namespace, i.name) }, i.name),
    h("span", { class: "muted" }, ` ${i.namespace}, ${i.distance} hop${i.distance === 1 ? "" : "s"}`)))) : empty("none");
  return h("div", { class: "blast" }, h("p", {}, `${impact.counts.models} models, ${impact.counts.predictions} predictions, ` +
    `${impact.counts.datasets} other datasets and ${impact.counts.jobs} jobs downstream of ${impact.root.name}.`),
  h("h3", {}, "Models"), list(impact.models), h("h3", {}, "Predictions"), list(impact.predictions), h("h3", {}, "Datasets"), list(impact.datasets));
}

// ------------------------------------------------------------------ Search
async function pageSearch(root) {
  const q = new URLSearchParams(location.search).get("q") || "";
  document.querySelector("form.search input").value = q;
  root.replaceChildren(h("h1", {}, q ? `Search: ${q}` : "Search"));
  if (!q) { root.append(empty("Type in the search box: datasets, jobs and columns whose name contains the text.")); return; }
  const r = await api("/api/v1/ui/search?" + new URLSearchParams({ q }));
  root.append(h("div", { class: "grid three" },
    section(`Datasets (${r.datasets.length})`, r.datasets.length ? h("ul", { class: "results datasets" }, r.datasets.map((d) => h("li", {},
      h("a", { href: datasetHref(d.namespace, d.name) }, d.name), h("span", { class: "muted" }, ` ${d.namespace} `),
      h("a", { href: lineageHref(d.namespace, d.name), class: "small" }, "lineage")))) : empty("none")),
    section(`Jobs (${r.jobs.length})`, r.jobs.length ? h("ul", { class: "results jobs" }, r.jobs.map((j) => h("li", {},
      h("a", { href: lineageHref(j.namespace, j.name, "job") }, j.name), h("span", { class: "muted" }, ` ${j.namespace}`)))) : empty("none")),
    section(`Columns (${r.columns.length})`, r.columns.length ? h("ul", { class: "results columns" }, r.columns.map((c) => h("li", {},
      h("a", { href: lineageHref(c.namespace, c.name, "dataset", { column: c.field, up: 3, down: 1 }) }, c.field), " in ",
      h("a", { href: datasetHref(c.namespace, c.name) }, c.name)))) : empty("none"))));
}

// ------------------------------------------------------------------ router
async function route() {
  const root = document.getElementById("app");
  const path = location.pathname;
  const page = path === "/" ? pageHome : path === "/lineage" ? pageLineage : path === "/search" ? pageSearch
    : path.startsWith("/datasets/") ? pageDataset : path.startsWith("/incidents/") ? pageIncident : null;
  try {
    if (!page) throw new Error(`no page at ${path}`);
    await page(root);
    document.body.dataset.ready = path;
  } catch (err) {
    const candidates = (err.body && err.body.candidates) || [];
    root.replaceChildren(h("h1", {}, "Something went wrong"), h("p", { class: "bad", id: "error" }, err.message),
      candidates.length ? h("ul", { class: "candidates" }, candidates.map((c) => h("li", {}, h("a", {
        href: path === "/lineage" ? lineageHref(c.namespace, c.name) : datasetHref(c.namespace, c.name) }, `${c.namespace} / ${c.name}`)))) : null);
    document.body.dataset.ready = "error";
  }
}
document.addEventListener("DOMContentLoaded", route);
