// Stockade web console: vanilla JS, no build step. The bearer token lives in sessionStorage.
"use strict";

const TOKEN_KEY = "stockade.token";
const REFRESH_MS = 5000;

// The console's menu, drawn once here into every page's empty <header class="topbar">.
const MENU = [
  ["dashboard", "/", "Dashboard"],
  ["alerts", "/alerts.html", "Alerts"],
  ["incidents", "/incidents.html", "Incidents"],
  ["actions", "/actions.html", "Actions"],
  ["firewall", "/firewall.html", "Firewall"],
  ["hosts", "/hosts.html", "Hosts"],
  ["baseline", "/baseline.html", "Baseline"],
  ["hunt", "/hunt.html", "Hunt"],
  ["rules", "/rules.html", "Rules"],
  ["profiles", "/profiles.html", "Profiles"],
  ["images", "/images.html", "Images"],
  ["users", "/users.html", "Users"],
];
// Detail pages light up the menu entry of their list.
const MENU_OF_PAGE = { host: "hosts", incident: "incidents" };

function drawTopbar() {
  const header = document.querySelector("header.topbar");
  if (!header) return;
  const page = document.body.dataset.page;
  const current = MENU_OF_PAGE[page] || page;
  const links = MENU.map(([id, href, label]) =>
    el("a", { id: `nav-${id}`, href, className: id === current ? "active" : null }, label));
  header.replaceChildren(
    el("span", { className: "brand" }, "Stockade"),
    el("nav", {}, ...links),
    el("button", { id: "logout", className: "link" }, "Sign out"),
  );
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function toLogin() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.replace("/login.html");
}

async function api(path, method = "GET") {
  const response = await fetch(path, { method, headers: { Authorization: `Bearer ${token()}` } });
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

// A JSON request that changes something; the answer (or {}) with its status, never a throw.
async function send(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${token()}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) toLogin();
  const answer = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, answer };
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
  for (const filters of document.querySelectorAll("form.filters:not([data-own-submit])")) {
    filters.addEventListener("submit", (event) => { event.preventDefault(); reload(); });
  }
  return reload;
}

drawTopbar(); // deferred scripts run once the page is parsed: before any page script looks for it

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "login") setupLogin();
  else if (page === "dashboard") setupSignedIn(loadDashboard); // defined in dashboard.js
  else if (page === "alerts") setupAlerts(); // defined in alerts.js
  else if (page === "images") setupSignedIn(loadImages); // defined in images.js
  else if (page === "users") {
    setupSignedIn(async () => {}); // users.js loads on its own: a refresh would reset its forms
    if (token()) setupUsers();
  }
});
