// Stockade web console: vanilla JS, no build step. The bearer token lives in sessionStorage.
"use strict";

const TOKEN_KEY = "stockade.token";
const REFRESH_MS = 5000;

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function toLogin() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.replace("/login.html");
}

async function api(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  if (response.status === 401) {
    toLogin();
    throw new Error("not logged in");
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.detail || `${path}: HTTP ${response.status}`);
  }
  return response.json();
}

// Build an element; strings become text nodes (never HTML), so data cannot inject markup.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fillTable(id, rows) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren(...rows);
}

function showError(error) {
  const box = document.getElementById("load-error");
  if (!box) return;
  box.hidden = !error;
  box.textContent = error ? `Could not load: ${error.message}` : "";
}

function shortTime(rfc3339) {
  if (!rfc3339) return "never";
  return rfc3339.replace("T", " ").replace(/\.(\d{3})\d*Z$/, ".$1 UTC").replace(/Z$/, " UTC");
}

function priorityBadge(priority, testid) {
  const name = String(priority || "").toLowerCase();
  return el("span", { className: `badge prio-${name}`, "data-testid": testid }, priority);
}

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

function alertRow(alert) {
  return el(
    "tr",
    { "data-testid": "alert-row", "data-uuid": alert.uuid, id: `alert-${alert.uuid}` },
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
  );
}

async function loadDashboard() {
  const [agents, containers, alerts] = await Promise.all([
    api("/api/v1/agents"),
    api("/api/v1/containers"),
    api("/api/v1/alerts?limit=10"),
  ]);
  document.getElementById("count-agents").textContent = agents.length;
  document.getElementById("count-containers").textContent = containers.length;
  document.getElementById("count-alerts").textContent = alerts.length;
  fillTable("agents-table", agents.map((a) => {
    const sensor = a.sensor || {};
    const total = Object.values(sensor.events_by_type || {}).reduce((x, y) => x + y, 0);
    return el(
      "tr",
      { "data-testid": "agent-row", "data-agent-id": a.id },
      el("td", { className: "strong" }, a.hostname),
      el("td", {}, el("span", { className: `badge status-${a.status}` }, a.status)),
      el("td", { title: sensor.degraded || "" }, sensor.source || "–"),
      el("td", {}, total),
      el(
        "td",
        { "data-testid": "agent-lost", title: "spool overflow / refused by the platform" },
        `${a.spool_dropped} / ${a.records_refused}`,
      ),
      el("td", {}, a.acked_seq),
      el("td", { className: "nowrap" }, shortTime(a.last_seen)),
      el("td", { className: "mono tiny" }, a.id),
    );
  }));
  fillTable("containers-table", containers.map((c) => el(
    "tr",
    { "data-testid": "container-row", "data-container-id": c.id },
    el("td", { className: "strong" }, c.name || "(unnamed)"),
    el("td", { className: "mono", title: c.id }, c.short_id),
    el("td", { className: "mono" }, c.image),
    el("td", {}, c.runtime),
    el("td", { className: "nowrap" }, shortTime(c.last_seen)),
  )));
  fillTable("recent-alerts", alerts.map((a) => el(
    "tr",
    { "data-testid": "recent-alert-row", "data-uuid": a.uuid },
    el("td", { className: "nowrap" }, shortTime(a.time)),
    el("td", {}, priorityBadge(a.priority)),
    el("td", { className: "strong" }, a.rule),
    el("td", {}, `${(a.process || {}).name || "?"} (${(a.process || {}).pid ?? "?"})`),
    el("td", {}, (a.container || {}).name || (a.container || {}).short_id || ""),
  )));
}

async function loadAlerts() {
  const form = new FormData(document.getElementById("alert-filters"));
  const params = new URLSearchParams({ limit: "500" });
  for (const [key, value] of form.entries()) if (value) params.set(key, value);
  const alerts = await api(`/api/v1/alerts?${params}`);
  fillTable("alerts-table", alerts.map(alertRow));
  document.getElementById("alerts-empty").hidden = alerts.length > 0;
}

function keepLoading(load) {
  const run = () => load().then(() => showError(null), showError);
  run();
  setInterval(run, REFRESH_MS);
  return run;
}

function setupLogin() {
  if (token()) location.replace("/");
  document.getElementById("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("login-error");
    error.hidden = true;
    const response = await fetch("/api/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        username: document.getElementById("username").value,
        password: document.getElementById("password").value,
      }),
    });
    if (!response.ok) {
      const reasons = { 401: "Wrong username or password.", 429: "Too many failed sign-ins; try again later." };
      error.textContent = reasons[response.status] || `Sign-in failed (HTTP ${response.status}).`;
      error.hidden = false;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, (await response.json()).token);
    location.replace("/");
  });
}

function setupSignedIn(load) {
  if (!token()) {
    toLogin();
    return;
  }
  document.getElementById("logout").addEventListener("click", () => {
    fetch("/api/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token()}` } })
      .finally(toLogin);
  });
  const reload = keepLoading(load);
  for (const filters of document.querySelectorAll("form.filters")) {
    filters.addEventListener("submit", (event) => { event.preventDefault(); reload(); });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "login") setupLogin();
  else if (page === "dashboard") setupSignedIn(loadDashboard);
  else if (page === "alerts") setupSignedIn(loadAlerts);
  else if (page === "images") setupSignedIn(loadImages); // defined in images.js
  else if (page === "users") {
    setupSignedIn(async () => {}); // users.js loads on its own: a refresh would reset its forms
    if (token()) setupUsers();
  }
});
