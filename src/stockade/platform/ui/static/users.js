// Stockade web console: users and roles (admins), own API tokens and password (uses app.js).
"use strict";

function report(result, success) {
  const box = document.getElementById("action-result");
  box.hidden = false;
  box.className = result.ok ? "" : "error";
  box.textContent = result.ok ? success : (result.answer.detail || `HTTP ${result.status}`);
}

function roleSelect(user) {
  const select = el("select", { "data-testid": "user-role", "aria-label": `role of ${user.username}` });
  for (const role of ["viewer", "analyst", "admin"]) {
    const option = el("option", {}, role);
    option.selected = role === user.role;
    select.append(option);
  }
  select.addEventListener("change", async () => {
    const result = await send("PATCH", `/api/v1/users/${encodeURIComponent(user.username)}`, { role: select.value });
    report(result, `${user.username} is now ${select.value}.`);
  });
  return select;
}

function userRow(user) {
  const remove = el("button", { "data-testid": "delete-user" }, "Delete");
  remove.addEventListener("click", async () => {
    const result = await send("DELETE", `/api/v1/users/${encodeURIComponent(user.username)}`);
    report(result, `${user.username} deleted.`);
    loadUsers();
  });
  return el("tr", { "data-testid": "user-row", "data-username": user.username },
    el("td", {}, user.username), el("td", {}, roleSelect(user)), el("td", {}, remove));
}

function tokenRow(t) {
  const revoke = el("button", { "data-testid": "revoke-token" }, "Revoke");
  revoke.addEventListener("click", async () => {
    report(await send("DELETE", `/api/v1/auth/tokens/${t.id}`), `Token ${t.name} revoked.`);
    loadUsers();
  });
  return el("tr", { "data-testid": "token-row", "data-name": t.name },
    el("td", {}, t.name), el("td", {}, shortTime(t.created_at)), el("td", {}, shortTime(t.expires_at)),
    el("td", {}, revoke));
}

function auditRow(entry) {
  return el("tr", { "data-testid": "audit-row" },
    el("td", { className: "nowrap" }, shortTime(entry.time)), el("td", {}, entry.username),
    el("td", { className: "mono small" }, `${entry.method} ${entry.path}`),
    el("td", {}, entry.status), el("td", { className: "mono small" }, entry.source));
}

async function loadUsers() {
  const me = await api("/api/v1/auth/me");
  document.getElementById("me-name").textContent = me.username;
  document.getElementById("me-role").textContent = me.role;
  document.getElementById("user-admin").hidden = me.role !== "admin";
  document.getElementById("audit-section").hidden = me.role !== "admin";
  if (me.role === "admin") {
    fillTable("users-table", (await api("/api/v1/users")).map(userRow));
    fillTable("audit-table", (await api("/api/v1/audit?limit=200")).map(auditRow));
  }
  fillTable("tokens-table", (await api("/api/v1/auth/tokens")).map(tokenRow));
}

function onSubmit(id, action) {
  document.getElementById(id).addEventListener("submit", async (event) => {
    event.preventDefault();
    await action(event.target);
    loadUsers().catch(showError);
  });
}

function setupUsers() {
  onSubmit("new-user", async (form) => {
    const username = document.getElementById("new-username").value;
    const role = document.getElementById("new-role").value;
    const password = document.getElementById("new-password").value;
    const result = await send("POST", "/api/v1/users", { username, password, role });
    report(result, `${username} added as ${role}.`);
    if (result.ok) form.reset();
  });
  onSubmit("new-token", async (form) => {
    const name = document.getElementById("token-name").value;
    const days = Number(document.getElementById("token-days").value);
    const result = await send("POST", "/api/v1/auth/tokens", { name, days });
    report(result, `Token ${name} created; copy it now, it is not shown again.`);
    const shown = document.getElementById("token-shown");
    shown.hidden = !result.ok;
    shown.textContent = result.ok ? result.answer.token : "";
    if (result.ok) form.reset();
  });
  onSubmit("password-form", async (form) => {
    const result = await send("POST", "/api/v1/auth/password", {
      current_password: document.getElementById("current-password").value,
      new_password: document.getElementById("new-own-password").value,
    });
    report(result, "Password changed; your other sessions were signed out.");
    if (result.ok) form.reset();
  });
  loadUsers().then(() => showError(null), showError);
}
