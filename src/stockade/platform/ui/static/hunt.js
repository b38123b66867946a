// Stockade web console: hunting. One read-only SELECT over the hunt views with its time
// window, the rows as a table, and saved hunts (uses app.js helpers: api, send, el, fillTable).
"use strict";

// Nanoseconds since the epoch, `seconds` ago (a double: off by under a microsecond).
function nsAgo(seconds) {
  return Math.floor((Date.now() - seconds * 1000) * 1e6);
}

function cell(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function showRows(result) {
  const head = document.querySelector("#hunt-results thead tr");
  head.replaceChildren(...result.columns.map((c) => el("th", {}, c)));
  fillTable("hunt-results", result.rows.map((row) =>
    el("tr", { "data-testid": "hunt-row" }, ...row.map((v) => el("td", {}, cell(v))))));
  const summary = document.getElementById("hunt-summary");
  summary.hidden = false;
  summary.textContent = `${result.rows.length} rows${result.truncated ? " (more matched: raise the row limit)" : ""}`;
}

async function runHunt() {
  const error = document.getElementById("hunt-error");
  const body = {
    sql: document.getElementById("hunt-sql").value,
    since: nsAgo(Number(document.getElementById("hunt-window").value)),
    limit: Number(document.getElementById("hunt-limit").value) || 1000,
  };
  const { ok, status, answer } = await send("POST", "/api/v1/hunt", body);
  error.hidden = ok;
  error.textContent = ok ? "" : answer.detail || `HTTP ${status}`;
  if (ok) showRows(answer);
}

function savedRow(hunt) {
  const load = el("button", { className: "link", "data-testid": "load-hunt" }, "edit");
  load.addEventListener("click", () => {
    document.getElementById("hunt-sql").value = hunt.sql;
    document.getElementById("save-name").value = hunt.name;
  });
  const remove = el("button", { className: "link", "data-testid": "delete-hunt" }, "delete");
  remove.addEventListener("click", async () => {
    await send("DELETE", `/api/v1/hunts/${hunt.id}`);
    await loadSaved();
  });
  return el("tr", { "data-testid": "saved-row", "data-name": hunt.name },
    el("td", { className: "strong" }, hunt.name, el("div", { className: "mono small muted" }, hunt.sql)),
    el("td", {}, `${hunt.interval_s} s`),
    el("td", {}, priorityBadge(hunt.priority, "saved-priority")),
    el("td", {}, hunt.enabled ? "yes" : "no"),
    el("td", { className: "nowrap" }, hunt.last_run_at ? shortTime(new Date(hunt.last_run_at / 1e6).toISOString()) : "never"),
    el("td", { "data-testid": "saved-rows" }, String(hunt.last_rows)),
    el("td", { "data-testid": "saved-alerts" }, String(hunt.alerts)),
    el("td", { className: "error small" }, hunt.last_error),
    el("td", {}, load, " ", remove));
}

async function loadSaved() {
  const hunts = await api("/api/v1/hunts");
  fillTable("saved-table", hunts.map(savedRow));
  document.getElementById("saved-empty").hidden = hunts.length > 0;
}

async function saveHunt() {
  const body = {
    name: document.getElementById("save-name").value.trim(),
    sql: document.getElementById("hunt-sql").value,
    interval_s: Number(document.getElementById("save-interval").value) || 300,
    priority: document.getElementById("save-priority").value,
  };
  const { ok, status, answer } = await send("POST", "/api/v1/hunts", body);
  const box = document.getElementById("save-result");
  box.hidden = false;
  box.className = ok ? "" : "error";
  box.textContent = ok ? `Saved "${answer.name}".` : answer.detail || `HTTP ${status}`;
  if (ok) await loadSaved();
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page !== "hunt") return;
  setupSignedIn(loadSaved);
  if (!token()) return;
  document.getElementById("hunt-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runHunt().catch(showError);
  });
  document.getElementById("save-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveHunt().catch(showError);
  });
});
