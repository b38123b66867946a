// Stockade web console: the container firewall's flow map (an SVG drawn here) and rules
// (uses app.js helpers: api, el, fillTable, shortTime, setupSignedIn, token).
"use strict";

const FW_SVG_NS = "http://www.w3.org/2000/svg";
const MAP_W = 900;
const MAP_H = 520;
const NODE_R = 34;

function fwSvg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(FW_SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function nodeKey(kind, id) {
  return `${kind}:${id}`;
}

function clipName(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// Nodes on a circle: groups and outside addresses alike, in name order.
function placeNodes(flows) {
  const keys = new Map();
  for (const f of flows) {
    keys.set(nodeKey(f.src_kind, f.src), { kind: f.src_kind, id: f.src });
    keys.set(nodeKey(f.dst_kind, f.dst), { kind: f.dst_kind, id: f.dst });
  }
  const nodes = [...keys.entries()].sort(([a], [b]) => a.localeCompare(b));
  const radius = Math.min(MAP_W, MAP_H) / 2 - NODE_R - 30;
  const placed = new Map();
  nodes.forEach(([key, node], i) => {
    const angle = (2 * Math.PI * i) / Math.max(nodes.length, 1) - Math.PI / 2;
    placed.set(key, { ...node, x: MAP_W / 2 + radius * Math.cos(angle), y: MAP_H / 2 + radius * Math.sin(angle) });
  });
  return placed;
}

function edgeOf(flow, from, to, bend) {
  const dx = to.x - from.x;
  const dy = to.y - from.y;
  const length = Math.hypot(dx, dy) || 1;
  const [ux, uy] = [dx / length, dy / length];
  const [x1, y1] = [from.x + ux * NODE_R, from.y + uy * NODE_R];
  const [x2, y2] = [to.x - ux * (NODE_R + 6), to.y - uy * (NODE_R + 6)];
  const [mx, my] = [(x1 + x2) / 2 - uy * bend, (y1 + y2) / 2 + ux * bend];
  const bad = !flow.allowed;
  const title = `${flow.src} → ${flow.dst}:${flow.port}/${flow.protocol}, ${flow.count} connections` +
    (bad ? `, not allowed (${flow.violations} reported)` : ", allowed");
  return fwSvg(
    "g",
    { "data-testid": "flow-edge", "data-violation": String(bad), "data-port": String(flow.port) },
    fwSvg("path", { class: bad ? "edge violation" : "edge", d: `M${x1},${y1} Q${mx},${my} ${x2},${y2}`,
      "marker-end": bad ? "url(#arrow-red)" : "url(#arrow)" }),
    fwSvg("text", { class: bad ? "edge-label violation" : "edge-label", x: mx, y: my - 4 },
      `${flow.port}/${flow.protocol} ×${flow.count}`),
    fwSvg("title", {}, title),
  );
}

function arrowMarker(id, colour) {
  return fwSvg("marker", { id, viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
    fwSvg("path", { d: "M0,0 L10,5 L0,10 z", fill: colour }));
}

function drawFlowMap(flows) {
  const placed = placeNodes(flows);
  const picture = fwSvg("svg", { viewBox: `0 0 ${MAP_W} ${MAP_H}`, role: "img", "aria-label": "flow map" },
    fwSvg("defs", {}, arrowMarker("arrow", "#4a6fa5"), arrowMarker("arrow-red", "#c62828")));
  const pairs = new Map(); // flows between the same two nodes fan out
  for (const flow of flows) {
    const from = placed.get(nodeKey(flow.src_kind, flow.src));
    const to = placed.get(nodeKey(flow.dst_kind, flow.dst));
    const pair = `${nodeKey(flow.src_kind, flow.src)}>${nodeKey(flow.dst_kind, flow.dst)}`;
    const index = pairs.get(pair) || 0;
    pairs.set(pair, index + 1);
    picture.append(edgeOf(flow, from, to, 18 + 26 * index));
  }
  for (const node of placed.values()) {
    picture.append(fwSvg(
      "g",
      { class: `node ${node.kind}`, "data-testid": "flow-node", "data-id": node.id, transform: `translate(${node.x},${node.y})` },
      fwSvg("circle", { r: NODE_R }),
      fwSvg("text", { y: 4 }, clipName(node.id, 14)),
      fwSvg("title", {}, `${node.kind} ${node.id}`),
    ));
  }
  if (!flows.length) picture.append(fwSvg("text", { x: MAP_W / 2, y: MAP_H / 2, "text-anchor": "middle" }, "no flows seen yet"));
  document.getElementById("flow-map").replaceChildren(picture);
}

function ruleRow(rule) {
  return el(
    "tr",
    { "data-testid": "rule-row", "data-rule-id": rule.id },
    el("td", { className: "mono small" }, rule.src),
    el("td", { className: "mono small" }, rule.dst),
    el("td", {}, `${rule.port}/${rule.protocol}`),
    el("td", {}, rule.origin),
    el("td", { className: "small" }, `${shortTime(rule.created_at)} by ${rule.created_by}`),
  );
}

async function loadFirewall() {
  const [flows, rules] = await Promise.all([api("/api/v1/flows"), api("/api/v1/firewall/rules")]);
  drawFlowMap(flows.flows);
  fillTable("rules-table", rules.map(ruleRow));
}

async function exportPolicies(event) {
  event.preventDefault();
  const response = await fetch("/api/v1/networkpolicies", { headers: { Authorization: `Bearer ${token()}` } });
  const blob = new Blob([await response.text()], { type: "application/yaml" });
  const link = el("a", { href: URL.createObjectURL(blob), download: "networkpolicies.yaml" });
  link.click();
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page !== "firewall") return;
  setupSignedIn(loadFirewall);
  document.getElementById("export-policies").addEventListener("click", (event) => {
    exportPolicies(event).catch(showError);
  });
});
