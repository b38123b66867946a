// Stockade web console: order a response action and read the audit trail
// (uses app.js helpers: api, el, fillTable, shortTime, setupSignedIn, token).
"use strict";

const RESULT_WAIT_S = 2;

function targetText(target) {
  const parts = [];
  if (target.container_id) parts.push(`container ${target.container_id.slice(0, 12)}`);
  if (target.pid) parts.push(`pid ${target.pid}`);
  if (target.path) parts.push(target.path);
  if (target.allow && target.allow.length) parts.push(`allow ${target.allow.join(", ")}`);
  return parts.join(" · ");
}

function askedBy(trigger) {
  if (trigger.kind === "user") return `user ${trigger.user}`;
  return `policy ${trigger.policy} (${trigger.rule})`;
}

function actionRow(record) {
  return el(
    "tr",
    { "data-testid": "action-row", "data-action-id": record.id },
    el("td", { className: "nowrap" }, shortTime(record.requested_at)),
    el("td", { className: "strong", "data-testid": "action-name" }, record.action),
    el("td", { className: "mono small", "data-testid": "action-target" }, targetText(record.target)),
    el("td", { "data-testid": "action-trigger", title: record.trigger.alert_id || "" }, askedBy(record.trigger)),
    el("td", { className: "small" }, record.host_id || record.agent_id),
    el("td", {}, el("span", { className: `badge status-${record.status}`, "data-testid": "action-status" }, record.status)),
    el("td", { className: "small", "data-testid": "action-result" }, record.error || record.detail),
  );
}

// Paging state: the cursors of the pages before this one, so "previous" goes back exactly.
const paging = { cursors: [null], next: null };
const PAGE_SIZE = "100";

async function loadActions() {
  const form = new FormData(document.getElementById("action-filters"));
  const params = new URLSearchParams({ limit: PAGE_SIZE });
  for (const [key, value] of form.entries()) if (value) params.set(key, value);
  const cursor = paging.cursors[paging.cursors.length - 1];
  if (cursor) params.set("cursor", cursor);
  const page = await api(`/api/v1/actions?${params}`);
  fillTable("actions-table", page.items.map(actionRow));
  document.getElementById("actions-empty").hidden = page.items.length > 0;
  paging.next = page.next_cursor;
  document.getElementById("actions-page").textContent = `page ${paging.cursors.length}`;
  document.getElementById("actions-prev").disabled = paging.cursors.length <= 1;
  document.getElementById("actions-next").disabled = !page.next_cursor;
}

function setupPaging() {
  document.getElementById("action-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    paging.cursors = [null];
    loadActions().catch(showError);
  });
  document.getElementById("actions-next").addEventListener("click", () => {
    if (!paging.next) return;
    paging.cursors.push(paging.next);
    loadActions().catch(showError);
  });
  document.getElementById("actions-prev").addEventListener("click", () => {
    if (paging.cursors.length > 1) paging.cursors.pop();
    loadActions().catch(showError);
  });
}

async function fillChoices() {
  const [catalog, agents] = await Promise.all([api("/api/v1/actions/catalog"), api("/api/v1/agents")]);
  const actions = document.getElementById("order-action");
  actions.replaceChildren(...catalog.map((a) => el("option", { value: a.name, "data-needs": a.needs.join(" and ") }, a.name)));
  const showNeeds = () => {
    const chosen = actions.selectedOptions[0];
    document.getElementById("order-needs").textContent = chosen ? `${chosen.value} needs: ${chosen.dataset.needs}` : "";
  };
  actions.addEventListener("change", showNeeds);
  showNeeds();
  const live = agents.filter((a) => a.status !== "revoked");
  document.getElementById("order-agent").replaceChildren(
    ...live.map((a) => el("option", { value: a.id }, `${a.hostname} (${a.id.slice(0, 8)})`)),
  );
}

function showResult(text, failed) {
  const box = document.getElementById("order-result");
  box.hidden = false;
  box.className = failed ? "error" : "";
  box.textContent = text;
}

async function order(event) {
  event.preventDefault();
  const value = (id) => document.getElementById(id).value.trim();
  const body = {
    action: value("order-action"),
    agent_id: value("order-agent"),
    target: {
      container_id: value("order-container"),
      pid: Number(value("order-pid") || 0),
      path: value("order-path"),
      allow: value("order-allow").split(",").map((s) => s.trim()).filter(Boolean),
    },
    wait_s: RESULT_WAIT_S,
  };
  const { ok, status, answer } = await send("POST", "/api/v1/actions", body);
  if (!ok) {
    showResult(`Refused: ${answer.detail || `HTTP ${status}`}`, true);
    return;
  }
  const outcome = answer.error || answer.detail || "ordered; the agent has not reported yet";
  showResult(`${answer.action}: ${answer.status} — ${outcome}`, answer.status === "failed");
  paging.cursors = [null];
  await loadActions();
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page !== "actions") return;
  setupSignedIn(loadActions);
  if (!token()) return;
  setupPaging();
  fillChoices().catch(showError);
  document.getElementById("order-form").addEventListener("submit", (event) => {
    order(event).catch((error) => showResult(`Failed: ${error.message}`, true));
  });
});
