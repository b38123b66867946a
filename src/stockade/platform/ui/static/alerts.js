// Stockade web console: the alerts page (uses app.js helpers). Pages come from the server by
// cursor; the filters, sort and order live in the page's URL so a reload keeps them.
"use strict";

const FILTERS = ["q", "min_priority", "status", "rule", "host", "container", "image", "tag", "range", "since", "until", "limit"];
const RANGES = { "15m": 15 * 60e3, "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3 };
const TRIAGE = [
  ["acknowledge", "Acknowledge"],
  ["resolve", "Resolve"],
  ["false-positive", "False positive"],
  ["reopen", "Reopen"],
];

// Paging state: the cursors of the pages before this one, so "previous" goes back exactly.
const paging = { cursors: [null], sort: "time", order: "", next: null };

function processCell(alert) {
  const p = alert.process || {};
  return el(
    "td",
    { className: "proc" },
    el("span", { className: "strong", "data-testid": "alert-proc-name" }, p.name || "?"),
    " pid ",
    el("span", { "data-testid": "alert-proc-pid" }, p.pid ?? "?"),
    el("div", { className: "mono small", "data-testid": "alert-proc-cmdline" }, p.cmdline || ""),
  );
}

function containerCell(alert) {
  const c = alert.container || {};
  return el(
    "td",
    { className: "container" },
    el("span", { className: "strong", "data-testid": "alert-container-name" }, c.name || "(unnamed)"),
    " ",
    el("span", { className: "mono", "data-testid": "alert-container-short-id" }, c.short_id || ""),
    el("div", { className: "mono tiny", "data-testid": "alert-container-id", title: "full container id" }, c.id || ""),
  );
}

function imageCell(alert) {
  const c = alert.container || {};
  return el(
    "td",
    {},
    el("span", { className: "mono", "data-testid": "alert-image" }, c.image || ""),
    el("div", { className: "mono tiny", "data-testid": "alert-image-digest" }, c.image_digest || ""),
  );
}

// How many identical alerts this row stands for (the agent aggregates repeats in a window).
function countCell(alert) {
  const count = alert.count ?? 1;
  const attrs = { className: count > 1 ? "strong" : "muted", "data-testid": "alert-count" };
  if (count > 1) attrs.title = `${count} identical alerts, aggregated at the agent`;
  return el("td", attrs, count);
}

function statusBadge(alert, testid) {
  const label = alert.status.replace("_", " ");
  return el("span", { className: `badge triage-${alert.status}`, "data-testid": testid }, label);
}

function incidentLink(alert) {
  if (alert.incident_id === null || alert.incident_id === undefined) return null;
  return el("a", { href: `/incident.html?id=${alert.incident_id}`, "data-testid": "alert-incident" }, `incident ${alert.incident_id}`);
}

function alertRow(alert) {
  const row = el(
    "tr",
    { "data-testid": "alert-row", "data-uuid": alert.uuid, "data-id": alert.id, id: `alert-${alert.uuid}`, className: "clickable" },
    el(
      "td",
      { className: "nowrap" },
      el("div", { "data-testid": "alert-time" }, shortTime(alert.time)),
      el("div", { className: "small", "data-testid": "alert-host" }, alert.hostname || alert.host_id || ""),
    ),
    el("td", {}, priorityBadge(alert.priority, "alert-priority")),
    countCell(alert),
    el(
      "td",
      { className: "rule" },
      el("div", { className: "strong", "data-testid": "alert-rule" }, alert.rule),
      el("div", { className: "small", "data-testid": "alert-output" }, alert.output),
    ),
    processCell(alert),
    containerCell(alert),
    imageCell(alert),
    el("td", {}, statusBadge(alert, "alert-status"), el("div", { className: "small" }, incidentLink(alert))),
  );
  row.addEventListener("click", (event) => {
    if (event.target.closest("a")) return;
    showDetail(alert.id);
  });
  return row;
}

function filterParams() {
  const form = new FormData(document.getElementById("alert-filters"));
  const params = new URLSearchParams();
  for (const [key, value] of form.entries()) if (value) params.set(key, value);
  return params;
}

// The API's query for the current filters: a time range becomes since/until in RFC 3339.
function apiParams() {
  const params = filterParams();
  const range = params.get("range");
  params.delete("range");
  if (range && RANGES[range]) {
    params.set("since", new Date(Date.now() - RANGES[range]).toISOString());
    params.delete("until");
  } else {
    for (const key of ["since", "until"]) {
      if (params.get(key)) params.set(key, new Date(params.get(key)).toISOString());
    }
  }
  if (range !== "custom") {
    if (!RANGES[range]) params.delete("since");
    params.delete("until");
  }
  params.set("sort", paging.sort);
  if (paging.order) params.set("order", paging.order);
  const cursor = paging.cursors[paging.cursors.length - 1];
  if (cursor) params.set("cursor", cursor);
  if (!params.get("limit")) params.set("limit", "50");
  return params;
}

function rememberInUrl() {
  const params = filterParams();
  if (paging.sort !== "time") params.set("sort", paging.sort);
  if (paging.order) params.set("order", paging.order);
  history.replaceState(null, "", `${location.pathname}${params.toString() ? `?${params}` : ""}`);
}

function restoreFromUrl() {
  const params = new URLSearchParams(location.search);
  for (const name of FILTERS) {
    const input = document.getElementById(`filter-${name}`);
    if (input && params.get(name)) input.value = params.get(name);
  }
  paging.sort = params.get("sort") || "time";
  paging.order = params.get("order") || "";
  showCustomRange();
}

function showCustomRange() {
  document.getElementById("custom-range").hidden = document.getElementById("filter-range").value !== "custom";
}

function showSort(page) {
  for (const th of document.querySelectorAll("[data-sort]")) {
    const active = th.dataset.sort === page.sort;
    th.classList.toggle("sorted", active);
    th.dataset.order = active ? page.order : "";
    th.setAttribute("aria-sort", active ? (page.order === "asc" ? "ascending" : "descending") : "none");
  }
}

async function loadAlerts() {
  const page = await api(`/api/v1/alerts?${apiParams()}`);
  fillTable("alerts-table", page.items.map(alertRow));
  paging.next = page.next_cursor;
  showSort(page);
  document.getElementById("alerts-empty").hidden = page.items.length > 0;
  document.getElementById("page-number").textContent = `page ${paging.cursors.length}`;
  document.getElementById("page-prev").disabled = paging.cursors.length <= 1;
  document.getElementById("page-next").disabled = !page.next_cursor;
}

function fieldRows(entries, prefix) {
  return entries.map(([name, value]) => el(
    "tr",
    { "data-field": name },
    el("th", {}, name),
    el("td", { className: "mono", "data-testid": `${prefix}-${name}` }, typeof value === "object" && value !== null ? JSON.stringify(value) : String(value ?? "")),
  ));
}

function renderDetail(alert) {
  const box = document.getElementById("alert-detail");
  box.dataset.id = alert.id;
  document.getElementById("detail-title").textContent = alert.rule;
  const status = document.getElementById("detail-status");
  status.replaceChildren(statusBadge(alert, "detail-status-badge"));
  if (alert.status_by) status.append(` by ${alert.status_by} at ${shortTime(alert.status_at)}`);
  const incident = incidentLink(alert);
  if (incident) status.append(" · ", incident);
  const { raw, output_fields: fields, process, container, ...top } = alert;
  fillTable("detail-fields", fieldRows([
    ...Object.entries(top),
    ...Object.entries(process || {}).map(([k, v]) => [`process.${k}`, v]),
    ...Object.entries(container || {}).map(([k, v]) => [`container.${k}`, v]),
  ], "detail"));
  fillTable("detail-output-fields", fieldRows(Object.entries(fields || {}), "output"));
  document.getElementById("detail-raw").textContent = JSON.stringify(raw, null, 2);
  box.hidden = false;
}

async function showDetail(id) {
  try {
    renderDetail(await api(`/api/v1/alerts/${id}`));
    document.getElementById("alert-detail").scrollIntoView({ block: "start" });
    showError(null);
  } catch (error) {
    showError(error);
  }
}

async function triage(action) {
  const id = document.getElementById("alert-detail").dataset.id;
  const message = document.getElementById("detail-message");
  try {
    await api(`/api/v1/alerts/${id}/${action}`, "POST");
    message.textContent = "";
    renderDetail(await api(`/api/v1/alerts/${id}`));
    await loadAlerts();
  } catch (error) {
    message.textContent = error.message;
  }
}

function setupAlerts() {
  restoreFromUrl();
  const reload = setupSignedIn(loadAlerts);
  if (!reload) return;
  const restart = () => { paging.cursors = [null]; rememberInUrl(); reload(); };
  document.getElementById("alert-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    restart();
  });
  document.getElementById("filter-range").addEventListener("change", showCustomRange);
  for (const th of document.querySelectorAll("[data-sort]")) {
    th.addEventListener("click", () => {
      if (paging.sort === th.dataset.sort) paging.order = th.dataset.order === "asc" ? "desc" : "asc";
      else { paging.sort = th.dataset.sort; paging.order = ""; }
      restart();
    });
  }
  document.getElementById("page-next").addEventListener("click", () => {
    if (!paging.next) return;
    paging.cursors.push(paging.next);
    reload();
  });
  document.getElementById("page-prev").addEventListener("click", () => {
    if (paging.cursors.length > 1) paging.cursors.pop();
    reload();
  });
  for (const [action] of TRIAGE) {
    document.getElementById(`triage-${action}`).addEventListener("click", () => triage(action));
  }
  document.getElementById("detail-close").addEventListener("click", () => {
    document.getElementById("alert-detail").hidden = true;
  });
}
