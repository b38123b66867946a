// Stockade web console: workload groups, their modes (with a switch) and learned profiles
// (uses app.js helpers: api, el, fillTable, shortTime, setupSignedIn, showError, token).
"use strict";

const MODES = ["policy", "discover", "monitor", "protect"];
let shownGroup = null;

async function setMode(group, half, value) {
  const body = { process: group.process_mode_set ? group.process_mode : null,
                 network: group.network_mode_set ? group.network_mode : null };
  body[half] = value === "policy" ? null : value;
  const result = await send("PUT", `/api/v1/groups/${encodeURIComponent(group.id)}/mode`, body);
  if (!result.ok) throw new Error(result.answer.detail || `HTTP ${result.status}`);
  await loadGroups();
}

function modeSwitch(group, half) {
  const current = group[`${half}_mode_set`] ? group[`${half}_mode`] : "policy";
  const select = el("select", { "data-testid": `mode-${half}`, "aria-label": `${half} mode of ${group.name}` },
    ...MODES.map((m) => {
      const label = m === "policy" ? `policy (${group[`${half}_mode`]})` : m;
      const option = el("option", { value: m }, label);
      if (m === current) option.selected = true;
      return option;
    }));
  select.addEventListener("change", () => setMode(group, half, select.value).catch(showError));
  const now = group[`${half}_mode`];
  return el("span", { className: `badge mode-${now}`, "data-testid": `mode-${half}-now`, "data-mode": now },
    group[`${half}_mode`], " ", select);
}

function groupRow(group) {
  const link = el("a", { href: "#", "data-testid": "group-link" }, group.name);
  link.addEventListener("click", (event) => { event.preventDefault(); showProfile(group).catch(showError); });
  return el("tr", { "data-testid": "group-row", "data-group-id": group.id },
    el("td", { className: "strong" }, link, el("div", { className: "mono small muted" }, group.id)),
    el("td", { className: "nowrap" }, shortTime(group.first_seen)),
    el("td", {}, modeSwitch(group, "process")),
    el("td", {}, modeSwitch(group, "network")),
    el("td", {}, group.profile_version ? `v${group.profile_version}` : "none yet"));
}

async function showProfile(group) {
  shownGroup = group;
  document.getElementById("profile-section").hidden = false;
  document.getElementById("profile-group").textContent = group.name;
  const items = document.getElementById("profile-items");
  if (!group.profile_version) {
    document.getElementById("profile-version").textContent = "(nothing learned yet)";
    items.replaceChildren();
    return;
  }
  const profile = await api(`/api/v1/profiles/${encodeURIComponent(group.id)}`);
  document.getElementById("profile-version").textContent =
    `v${profile.version}, ${shortTime(profile.created_at)} by ${profile.created_by}`;
  items.replaceChildren(...Object.entries(profile.items).map(([kind, values]) =>
    el("div", { "data-testid": "profile-kind", "data-kind": kind },
      el("h3", {}, `${kind.replace(/_/g, " ")} (${values.length})`),
      el("ul", { className: "mono small" }, ...values.map((v) => el("li", {}, v))))));
  const exported = document.getElementById("profile-export");
  exported.onclick = async (event) => {
    event.preventDefault();
    const response = await fetch(`/api/v1/profiles/${encodeURIComponent(group.id)}/yaml`,
      { headers: { Authorization: `Bearer ${token()}` } });
    const url = URL.createObjectURL(new Blob([await response.text()], { type: "application/yaml" }));
    const save = el("a", { href: url, download: `${group.id}.yaml` });
    save.click();
    URL.revokeObjectURL(url);
  };
}

async function loadGroups() {
  // a switch being used is not redrawn under the user's pointer
  if (document.activeElement && document.activeElement.tagName === "SELECT") return;
  const groups = await api("/api/v1/groups");
  fillTable("groups-table", groups.map(groupRow));
  document.getElementById("groups-empty").hidden = groups.length > 0;
  if (shownGroup) {
    const again = groups.find((g) => g.id === shownGroup.id);
    if (again && again.profile_version !== shownGroup.profile_version) await showProfile(again);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page !== "profiles") return;
  setupSignedIn(loadGroups);
});
