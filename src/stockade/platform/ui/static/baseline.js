// Stockade web console: baseline checks, the fleet's summary or one host's results with
// failing checks first (uses app.js helpers: api, el, fillTable, shortTime, setupSignedIn).
"use strict";

const STATUS_LABEL = { fail: "fail", pass: "pass", not_applicable: "n/a" };

function fleetRow(run) {
  const link = el("a", { href: `/baseline.html?host=${encodeURIComponent(run.host_id)}` }, run.host_id);
  return el("tr", { "data-testid": "fleet-row", "data-host-id": run.host_id },
    el("td", { className: "strong" }, link),
    el("td", {}, run.policy_name),
    el("td", { "data-testid": "fleet-score" }, `${run.score}%`),
    el("td", { "data-testid": "fleet-failed" }, String(run.failed)),
    el("td", {}, String(run.passed)),
    el("td", {}, String(run.not_applicable)),
    el("td", { className: "nowrap" }, shortTime(run.ran_at)));
}

function compliance(mapping) {
  return Object.entries(mapping).map(([name, ids]) => `${name}: ${ids.join(", ")}`).join("; ");
}

function checkRow(check) {
  return el("tr", { "data-testid": "check-row", "data-check-id": check.check_id, "data-status": check.status },
    el("td", {}, el("span", { className: `badge status-${check.status}`, "data-testid": "check-status" },
      STATUS_LABEL[check.status] || check.status)),
    el("td", { className: "strong" }, check.title, el("div", { className: "mono small muted" }, check.check_id)),
    el("td", { className: "small" }, check.evidence),
    el("td", { className: "small" }, check.status === "fail" ? check.remediation : ""),
    el("td", { className: "small muted" }, compliance(check.compliance)));
}

function policyBlock(policy) {
  const table = el("table", { "data-testid": "checks-table" },
    el("thead", {}, el("tr", {}, el("th", {}, "Status"), el("th", {}, "Check"), el("th", {}, "Evidence"),
      el("th", {}, "Remediation"), el("th", {}, "Compliance"))),
    el("tbody", {}, ...policy.checks.map(checkRow)));
  return el("section", { "data-testid": "policy", "data-policy-id": policy.policy_id },
    el("h3", {}, `${policy.policy_name} — `,
      el("span", { "data-testid": "policy-score" }, `${policy.score}%`),
      el("span", { className: "muted small" }, ` ${policy.failed} failed, ${policy.passed} passed,`
        + ` ${policy.not_applicable} not applicable, ran ${shortTime(policy.ran_at)}`)),
    table);
}

async function loadBaseline() {
  const host = new URLSearchParams(location.search).get("host");
  document.getElementById("fleet-section").hidden = Boolean(host);
  document.getElementById("host-section").hidden = !host;
  if (!host) {
    const fleet = await api("/api/v1/baseline");
    fillTable("fleet-table", fleet.map(fleetRow));
    document.getElementById("fleet-empty").hidden = fleet.length > 0;
    return;
  }
  const result = await api(`/api/v1/hosts/${encodeURIComponent(host)}/baseline`);
  document.getElementById("host-id").textContent = host;
  document.getElementById("host-failed").textContent = String(result.failed_checks);
  document.getElementById("policies").replaceChildren(...result.policies.map(policyBlock));
  fillTable("history-table", result.history.map((run) => el("tr", { "data-testid": "history-row" },
    el("td", { className: "nowrap" }, shortTime(run.ran_at)), el("td", {}, run.policy_name),
    el("td", {}, `${run.score}%`), el("td", {}, String(run.failed)))));
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page !== "baseline") return;
  setupSignedIn(loadBaseline);
});
