// Stockade web console: hosts with their risk summary, and one host's inventory tables
// (uses app.js helpers: api, el, fillTable, shortTime, setupSignedIn, showError).
"use strict";

const PAGE_ROWS = 50;
const hostView = { id: "", table: "", offset: 0, total: 0 };

function riskFigure(value) {
  return value === null || value === undefined ? "n/a" : String(value);
}

function hostRow(host) {
  const link = el("a", { href: `/host.html?id=${encodeURIComponent(host.id)}` }, host.hostname);
  return el(
    "tr",
    { "data-testid": "host-row", "data-host-id": host.id },
    el("td", {}, link, el("div", { className: "mono small muted" }, host.id)),
    el("td", { "data-testid": "host-ports" }, host.risk.open_ports),
    el("td", { "data-testid": "host-suid" }, host.risk.suid_files),
    el("td", {}, riskFigure(host.risk.vulnerable_packages)),
    el("td", {}, riskFigure(host.risk.failed_checks)),
    el("td", {}, host.risk.packages),
    el("td", { className: "small" }, shortTime(host.inventory_at)),
    el("td", { className: "small" }, shortTime(host.last_seen)),
  );
}

async function loadHosts() {
  const hosts = await api("/api/v1/hosts");
  fillTable("hosts-table", hosts.map(hostRow));
}

function cellText(value) {
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

async function loadTablePage() {
  if (!hostView.table) return;
  const path = `/api/v1/hosts/${encodeURIComponent(hostView.id)}/inventory/${hostView.table}`;
  const page = await api(`${path}?offset=${hostView.offset}&limit=${PAGE_ROWS}`);
  hostView.total = page.total;
  const head = document.querySelector("#inventory-table thead");
  head.replaceChildren(el("tr", {}, ...page.columns.map((c) => el("th", {}, c))));
  fillTable("inventory-table", page.rows.map((row) => el(
    "tr",
    { "data-testid": "inventory-row" },
    ...page.columns.map((c) => el("td", { className: "small" }, cellText(row[c] ?? ""))),
  )));
  const last = Math.min(hostView.offset + PAGE_ROWS, page.total);
  document.getElementById("page-info").textContent =
    page.total ? `${hostView.offset + 1}–${last} of ${page.total}` : "no rows";
}

function changeRow(change) {
  return el(
    "tr",
    { "data-testid": "change-row" },
    el("td", { className: "small" }, shortTime(change.at)),
    el("td", {}, change.table),
    el("td", {}, change.change),
    el("td", { className: "mono small" }, JSON.stringify(change.row)),
  );
}

function fillTableChoices(tables) {
  const select = document.getElementById("table-name");
  const current = hostView.table || (tables.listening_ports ? "listening_ports" : Object.keys(tables)[0] || "");
  select.replaceChildren(...Object.entries(tables).map(([name, count]) =>
    el("option", { value: name }, `${name} (${count})`)));
  select.value = current;
  hostView.table = current;
}

async function loadHost() {
  const host = await api(`/api/v1/hosts/${encodeURIComponent(hostView.id)}`);
  document.getElementById("host-name").textContent = host.hostname;
  document.getElementById("host-meta").textContent =
    `${host.id} · inventory ${shortTime(host.inventory_at)} · last seen ${shortTime(host.last_seen)}`;
  document.getElementById("risk-ports").textContent = host.risk.open_ports;
  document.getElementById("risk-suid").textContent = host.risk.suid_files;
  document.getElementById("risk-vulnerable").textContent = riskFigure(host.risk.vulnerable_packages);
  document.getElementById("risk-checks").textContent = riskFigure(host.risk.failed_checks);
  if (!document.getElementById("table-name").options.length) fillTableChoices(host.tables);
  fillTable("changes-table", host.changes.map(changeRow));
  await loadTablePage();
}

function setupHost() {
  hostView.id = new URLSearchParams(location.search).get("id") || "";
  setupSignedIn(loadHost);
  const reloadPage = () => loadTablePage().then(() => showError(null), showError);
  document.getElementById("table-name").addEventListener("change", (event) => {
    hostView.table = event.target.value;
    hostView.offset = 0;
    reloadPage();
  });
  document.getElementById("page-prev").addEventListener("click", () => {
    hostView.offset = Math.max(0, hostView.offset - PAGE_ROWS);
    reloadPage();
  });
  document.getElementById("page-next").addEventListener("click", () => {
    if (hostView.offset + PAGE_ROWS < hostView.total) hostView.offset += PAGE_ROWS;
    reloadPage();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "hosts") setupSignedIn(loadHosts);
  else if (page === "host") setupHost();
});
