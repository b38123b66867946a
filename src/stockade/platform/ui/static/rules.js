// Stockade web console: custom rules. The files with their versions, upload and edit, the
// effective rules with a switch each, and which revision each agent loaded (app.js helpers).
"use strict";

function result(ok, text) {
  const box = document.getElementById("file-result");
  box.hidden = false;
  box.className = ok ? "" : "error";
  box.textContent = text;
}

async function viewFile(name) {
  const file = await api(`/api/v1/rules/files/${encodeURIComponent(name)}`);
  document.getElementById("file-name").value = file.name;
  document.getElementById("file-content").value = file.content;
}

function fileRow(file) {
  const view = el("button", { className: "link", "data-testid": "view-file" }, "view");
  view.addEventListener("click", () => viewFile(file.name).catch(showError));
  const remove = el("button", { className: "link", "data-testid": "delete-file" }, "delete");
  remove.addEventListener("click", async () => {
    const { ok, status, answer } = await send("DELETE", `/api/v1/rules/files/${encodeURIComponent(file.name)}`);
    result(ok, ok ? `Deleted ${file.name}.` : answer.detail || `HTTP ${status}`);
    await loadRules();
  });
  return el("tr", { "data-testid": "file-row", "data-name": file.name },
    el("td", { className: "strong mono" }, file.name),
    el("td", {}, String(file.version)),
    el("td", {}, file.created_by),
    el("td", { className: "nowrap" }, shortTime(file.created_at)),
    el("td", { className: "mono small muted" }, file.sha256.slice(0, 12)),
    el("td", {}, view, " ", remove));
}

function ruleRow(rule) {
  const toggle = el("button", { className: "link", "data-testid": "toggle-rule" },
    rule.enabled ? "disable" : "enable");
  toggle.addEventListener("click", async () => {
    const { ok, status, answer } = await send("PUT", "/api/v1/rules/enabled",
      { rule: rule.name, enabled: !rule.enabled });
    if (!ok) showError(new Error(answer.detail || `HTTP ${status}`));
    await loadRules();
  });
  return el("tr", { "data-testid": "rule-row", "data-name": rule.name },
    el("td", {}, rule.name),
    el("td", { className: "mono small" }, rule.source),
    el("td", {}, priorityBadge(rule.priority, "rule-priority")),
    el("td", { "data-testid": "rule-enabled" }, rule.enabled ? "yes" : "no"),
    el("td", {}, toggle));
}

function loadRow(load) {
  return el("tr", { "data-testid": "load-row", "data-agent": load.agent_id },
    el("td", { className: "mono small" }, load.agent_id),
    el("td", {}, String(load.revision)),
    el("td", {}, String(load.rules)),
    el("td", { className: load.loaded ? "" : "error small" }, load.loaded ? "loaded" : `refused: ${load.error}`),
    el("td", { className: "nowrap" }, shortTime(load.reported_at)));
}

async function loadRules() {
  const [files, effective, loads] = await Promise.all([
    api("/api/v1/rules/files"), api("/api/v1/rules"), api("/api/v1/rules/agents"),
  ]);
  fillTable("files-table", files.map(fileRow));
  document.getElementById("files-empty").hidden = files.length > 0;
  document.getElementById("rules-revision").textContent =
    `Revision ${effective.revision}: ${effective.rules.length} rules`;
  fillTable("rules-table", effective.rules.map(ruleRow));
  fillTable("loads-table", loads.map(loadRow));
}

async function saveFile() {
  const name = document.getElementById("file-name").value.trim();
  const body = { content: document.getElementById("file-content").value };
  const { ok, status, answer } = await send("PUT", `/api/v1/rules/files/${encodeURIComponent(name)}`, body);
  result(ok, ok ? `Stored ${answer.name} version ${answer.version}.` : answer.detail || `HTTP ${status}`);
  if (ok) await loadRules();
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page !== "rules") return;
  setupSignedIn(loadRules);
  if (!token()) return;
  document.getElementById("file-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveFile().catch(showError);
  });
});
