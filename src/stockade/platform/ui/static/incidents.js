// Stockade web console: the incidents list and one incident with its storyline drawn as an
// SVG tree (uses app.js helpers: api, el, fillTable, shortTime, priorityBadge, setupSignedIn).
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const NODE_W = 220;
const NODE_H = 46;
const GAP_X = 18;
const GAP_Y = 34;
const PAD = 16;

// ---- the list ----

const pages = { cursors: [null], index: 0, next: null };

function statusBadge(status, testid) {
  return el("span", { className: `badge status-${status}`, "data-testid": testid }, String(status).replace("_", " "));
}

function whereText(origin) {
  if (origin.container_id === "host") return `host ${origin.hostname || origin.host_id}`;
  return `${origin.container_name || origin.container_short_id} on ${origin.hostname || origin.host_id}`;
}

function incidentRow(incident) {
  const href = `/incident.html?id=${incident.id}`;
  const row = el(
    "tr",
    { className: "clickable", "data-testid": "incident-row", "data-incident-id": incident.id },
    el("td", { className: "mono" }, el("a", { href, "data-testid": "incident-link" }, `#${incident.id}`)),
    el("td", {}, priorityBadge(incident.severity, "incident-severity")),
    el("td", {}, statusBadge(incident.status, "incident-status")),
    el("td", { className: "strong", "data-testid": "incident-title" }, incident.title),
    el(
      "td",
      {},
      el("div", { "data-testid": "incident-where" }, whereText(incident.origin)),
      el("div", { className: "mono tiny" }, incident.origin.image || ""),
    ),
    el("td", { "data-testid": "incident-alerts" }, incident.alert_count),
    el("td", { className: "nowrap" }, shortTime(incident.last_seen)),
    el("td", { "data-testid": "incident-assignee" }, incident.assignee || "–"),
  );
  row.addEventListener("click", (event) => {
    if (event.target.tagName !== "A") location.assign(href);
  });
  return row;
}

async function loadIncidents() {
  const form = new FormData(document.getElementById("incident-filters"));
  const params = new URLSearchParams({ limit: "50" });
  for (const [key, value] of form.entries()) if (value) params.set(key, value);
  const cursor = pages.cursors[pages.index];
  if (cursor) params.set("cursor", cursor);
  const page = await api(`/api/v1/incidents?${params}`);
  fillTable("incidents-table", page.items.map(incidentRow));
  document.getElementById("incidents-empty").hidden = page.items.length > 0;
  pages.next = page.next_cursor;
  document.getElementById("page-next").disabled = !page.next_cursor;
  document.getElementById("page-first").disabled = pages.index === 0;
}

function setupIncidents() {
  const reload = () => loadIncidents().then(() => showError(null), showError);
  document.getElementById("page-next").addEventListener("click", () => {
    if (!pages.next) return;
    pages.cursors = pages.cursors.slice(0, pages.index + 1).concat([pages.next]);
    pages.index += 1;
    reload();
  });
  document.getElementById("page-first").addEventListener("click", () => {
    pages.index = 0;
    reload();
  });
  document.getElementById("incident-filters").addEventListener("submit", () => {
    pages.cursors = [null];
    pages.index = 0;
  }, true);  // before app.js reloads on submit
}

// ---- one incident ----

function incidentId() {
  return new URLSearchParams(location.search).get("id");
}

async function loadIncident() {
  const incident = await api(`/api/v1/incidents/${encodeURIComponent(incidentId())}`);
  document.title = `Stockade — incident #${incident.id}`;
  document.getElementById("incident-title").textContent = `#${incident.id} ${incident.title}`;
  document.getElementById("incident-severity").replaceChildren(priorityBadge(incident.severity));
  document.getElementById("incident-status").replaceChildren(statusBadge(incident.status));
  document.getElementById("incident-where").textContent = whereText(incident.origin);
  document.getElementById("incident-assignee").textContent = incident.assignee || "unassigned";
  document.getElementById("incident-count").textContent = incident.alert_count;
  fillTable("timeline-table", incident.timeline.map(timelineRow));
  drawStoryline(incident);
}

function timelineRow(entry) {
  return el(
    "tr",
    { "data-testid": "timeline-row", "data-kind": entry.kind },
    el("td", { className: "nowrap" }, shortTime(entry.time)),
    el("td", {}, entry.kind === "alert" ? priorityBadge(entry.priority) : el("span", { className: "strong" }, entry.kind)),
    el("td", { className: "small" }, entry.text),
    el("td", {}, entry.username || ""),
  );
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function clip(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

// A top-down tree: each leaf takes a column, a parent sits above the middle of its children.
function layout(story, scope) {
  const children = new Map([[scope.id, []]]);
  for (const p of story.processes) children.set(p.id, []);
  for (const p of story.processes) children.get(p.parent ?? scope.id).push(p.id);
  const position = new Map();
  let column = 0;
  let deepest = 0;
  const place = (id, depth) => {
    deepest = Math.max(deepest, depth);
    const y = PAD + depth * (NODE_H + GAP_Y);
    const kids = children.get(id) || [];
    if (!kids.length) {
      position.set(id, { x: PAD + column * (NODE_W + GAP_X), y });
      column += 1;
      return;
    }
    for (const kid of kids) place(kid, depth + 1);
    const first = position.get(kids[0]).x;
    const last = position.get(kids[kids.length - 1]).x;
    position.set(id, { x: (first + last) / 2, y });
  };
  place(scope.id, 0);
  return { children, position, columns: Math.max(column, 1), levels: deepest + 1 };
}

function drawStoryline(incident) {
  const story = incident.storyline;
  const origin = incident.origin;
  const scope = {
    id: "scope",
    name: origin.container_id === "host" ? `host ${origin.hostname || origin.host_id}` : `container ${origin.container_name || origin.container_short_id}`,
    cmdline: origin.image || origin.host_id,
  };
  const { children, position, columns, levels } = layout(story, scope);
  const picture = svg("svg", {
    xmlns: SVG_NS,
    width: PAD * 2 + columns * (NODE_W + GAP_X) - GAP_X,
    height: PAD * 2 + levels * (NODE_H + GAP_Y) - GAP_Y,
    "data-testid": "storyline",
    role: "img",
    "aria-label": "process tree",
  });
  for (const [parent, kids] of children) {
    const from = position.get(parent);
    for (const kid of kids) {
      const to = position.get(kid);
      const x1 = from.x + NODE_W / 2, y1 = from.y + NODE_H, x2 = to.x + NODE_W / 2, y2 = to.y;
      const mid = (y1 + y2) / 2;
      picture.append(svg("path", { class: "edge", d: `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}` }));
    }
  }
  picture.append(storyNode(scope, position.get(scope.id), "scope", null));
  for (const process of story.processes) {
    const kind = process.offending ? "offending" : "";
    picture.append(storyNode(process, position.get(process.id), kind, process));
  }
  const canvas = document.getElementById("story-canvas");
  canvas.replaceChildren(picture);
  if (!story.processes.length) canvas.append(el("p", { className: "muted" }, "No stored events for this incident."));
}

// "nc → sh" for a process that executed one program and then another (nc -e, exec in a shell).
function execNames(process) {
  const names = process.steps
    .filter((step) => step.kind === "exec" && step.event)
    .map((step) => step.event.proc.name);
  const distinct = names.filter((name, i) => name && name !== names[i - 1]);
  return distinct.length > 1 ? distinct.join(" → ") : process.name || "?";
}

function storyNode(item, at, kind, process) {
  const marks = process && process.rules.length ? `⚠ ${process.rules.join(", ")}` : "";
  const label = process ? `${execNames(process)}  pid ${process.pid}` : item.name;
  const group = svg(
    "g",
    {
      class: `node ${kind}`.trim(),
      transform: `translate(${at.x},${at.y})`,
      "data-testid": "story-node",
      "data-process-id": item.id,
      "data-name": item.name,
      tabindex: 0,
    },
    svg("rect", { width: NODE_W, height: NODE_H }),
    svg("text", { class: "name", x: 10, y: 18 }, clip(label, 28)),
    svg("text", { class: marks ? "marks" : "cmd", x: 10, y: 35 }, clip(marks || item.cmdline || "", 32)),
    svg("title", {}, process ? process.cmdline : item.name),
  );
  if (process) {
    const select = () => showProcess(process, group);
    group.addEventListener("click", select);
    group.addEventListener("keydown", (event) => { if (event.key === "Enter") select(); });
  }
  return group;
}

function showProcess(process, group) {
  for (const node of document.querySelectorAll("svg .node.selected")) node.classList.remove("selected");
  group.classList.add("selected");
  const steps = process.steps.map((step) => el(
    "li",
    { "data-testid": "story-step", "data-kind": step.kind },
    el("span", { className: `kind kind-${step.kind}` }, step.kind),
    el("span", { className: "small" }, ` ${shortTime(step.time)} `),
    el("div", { className: "mono" }, step.summary),
    step.event ? el("details", {}, el("summary", {}, `event #${step.seq}`), el("pre", { "data-testid": "story-event" }, JSON.stringify(step.event, null, 2))) : null,
  ));
  const more = process.steps_left_out ? el("p", { className: "small" }, `${process.steps_left_out} more steps not shown`) : null;
  const parts = [
    el("h3", { "data-testid": "story-process-name" }, process.name || "?"),
    el("div", { className: "small" }, `pid ${process.pid} (in its namespace ${process.vpid})`),
    el("div", { className: "mono", "data-testid": "story-process-cmdline" }, process.cmdline),
    el("div", { className: "mono tiny" }, process.exepath),
    process.rules.length ? el("p", { className: "error", "data-testid": "story-process-rules" }, `Alerts: ${process.rules.join(", ")}`) : null,
    el("ol", { "data-testid": "story-steps" }, ...steps),
    more,
  ];
  document.getElementById("story-details").replaceChildren(...parts.filter((part) => part));
}

function setupIncident() {
  const reload = () => loadIncident().then(() => showError(null), showError);
  document.getElementById("incident-change").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("change-error");
    const body = {};
    const status = document.getElementById("change-status").value;
    const assignee = document.getElementById("change-assignee").value.trim();
    const note = document.getElementById("change-note").value.trim();
    if (status) body.status = status;
    if (assignee) body.assignee = assignee;
    if (note) body.note = note;
    const result = await send("PATCH", `/api/v1/incidents/${encodeURIComponent(incidentId())}`, body);
    error.hidden = result.ok;
    error.textContent = result.ok ? "" : result.answer.detail || `HTTP ${result.status}`;
    if (result.ok) {
      document.getElementById("incident-change").reset();
      reload();
    }
  });
  reload();
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "incidents") {
    setupIncidents();
    setupSignedIn(loadIncidents);
  } else if (page === "incident") {
    setupSignedIn(async () => {}); // loaded once and after each change: a refresh would reset the picture
    if (token()) setupIncident();
  }
});
