// Stockade web console: the dashboard (uses app.js helpers). The chart is an SVG drawn here.
"use strict";

const PRIORITY_ORDER = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"];
const CHART_RANGES = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3 };
const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function bucketTotals(stats, buckets) {
  const totals = Array.from({ length: buckets }, () => ({}));
  for (const point of stats.series) {
    const index = Math.round((Date.parse(point.start) - Date.parse(stats.since)) / (stats.bucket_seconds * 1000));
    if (index >= 0 && index < buckets) totals[index][point.priority] = point.alerts;
  }
  return totals;
}

function timeLabel(ms, spanMs) {
  const iso = new Date(ms).toISOString();
  return spanMs > 2 * 86400e3 ? iso.slice(5, 10) : iso.slice(11, 16);
}

// Stacked bars, most severe at the bottom; each segment says its count in a tooltip.
function drawChart(stats, buckets) {
  const width = 960, height = 220, left = 44, bottom = 24, top = 10;
  const totals = bucketTotals(stats, buckets);
  const peak = Math.max(1, ...totals.map((t) => Object.values(t).reduce((a, b) => a + b, 0)));
  const slot = (width - left) / buckets;
  const scale = (height - bottom - top) / peak;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "alerts over time by priority", "data-testid": "alerts-chart" });
  chart.append(
    svg("line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: "axis" }),
    svg("text", { x: left - 6, y: top + 10, class: "tick", "text-anchor": "end" }, peak),
    svg("text", { x: left - 6, y: height - bottom, class: "tick", "text-anchor": "end" }, 0),
  );
  const since = Date.parse(stats.since), span = Date.parse(stats.until) - since;
  totals.forEach((counts, i) => {
    let y = height - bottom;
    for (const priority of PRIORITY_ORDER) {
      const n = counts[priority] || 0;
      if (!n) continue;
      const h = Math.max(1, n * scale);
      y -= h;
      const start = timeLabel(since + i * stats.bucket_seconds * 1000, span);
      chart.append(svg(
        "rect",
        { x: left + i * slot + 1, y, width: Math.max(1, slot - 2), height: h, class: `bar prio-fill-${priority.toLowerCase()}`, "data-testid": "chart-bar", "data-priority": priority, "data-count": n },
        svg("title", {}, `${start} UTC: ${n} ${priority}`),
      ));
    }
  });
  // the window's start, middle and end, under the chart's left edge, middle and right edge
  const ticks = [[left, "start", since], [(left + width) / 2, "middle", since + span / 2], [width, "end", since + span]];
  for (const [x, anchor, ms] of ticks) {
    chart.append(svg("text", { x, y: height - 6, class: "tick", "text-anchor": anchor }, timeLabel(ms, span)));
  }
  const legend = el("div", { className: "legend" });
  for (const priority of PRIORITY_ORDER) {
    if (!stats.series.some((p) => p.priority === priority)) continue;
    legend.append(el("span", { className: "legend-item" }, el("span", { className: `swatch prio-${priority.toLowerCase()}` }), priority));
  }
  document.getElementById("chart").replaceChildren(chart, legend);
}

function tallyRows(tallies, testid, link) {
  return tallies.map((t) => el(
    "tr",
    { "data-testid": testid, "data-key": t.key },
    el("td", {}, el("a", { href: `/alerts.html?${new URLSearchParams(link(t))}` }, t.label || t.key || "(none)")),
    el("td", { className: "num" }, t.alerts),
    el("td", { className: "num" }, t.occurrences),
  ));
}

function agentRow(a) {
  const sensor = a.sensor || {};
  return el(
    "tr",
    { "data-testid": "agent-row", "data-agent-id": a.id },
    el("td", { className: "strong" }, a.hostname),
    el("td", {}, el("span", { className: `badge status-${a.status}` }, a.status)),
    el("td", {}, sensor.source || "–", el("div", { className: "small", "data-testid": "agent-degraded" }, a.degraded || "")),
    el("td", { className: "num", "data-testid": "agent-rate" }, a.events_per_s),
    el("td", { className: "num", "data-testid": "agent-sensor-drops", title: "events the sensor dropped / records it could not decode" }, `${a.sensor_dropped} / ${a.decode_errors}`),
    el("td", { className: "num", "data-testid": "agent-lost", title: "spool overflow / refused by the platform" }, `${a.spool_dropped} / ${a.records_refused}`),
    el("td", { className: "nowrap" }, shortTime(a.last_seen)),
    el("td", { className: "mono tiny" }, a.id),
  );
}

// The window's counts read every alert in it: asked for again only every STATS_EVERY_MS (or
// for another range), while agents, containers and recent alerts refresh every few seconds.
const STATS_EVERY_MS = 30000;
const statsCache = { range: null, at: 0, value: null };

async function windowStats(range, buckets) {
  if (statsCache.range === range && Date.now() - statsCache.at < STATS_EVERY_MS) return statsCache.value;
  const since = new Date(Date.now() - CHART_RANGES[range]).toISOString();
  const value = await api(`/api/v1/alerts/stats?since=${encodeURIComponent(since)}&buckets=${buckets}`);
  Object.assign(statsCache, { range, at: Date.now(), value });
  return value;
}

async function loadDashboard() {
  const range = document.getElementById("chart-range").value;
  const buckets = 48;
  const [agents, containers, page, stats] = await Promise.all([
    api("/api/v1/agents"),
    api("/api/v1/containers"),
    api("/api/v1/alerts?limit=10"),
    windowStats(range, buckets),
  ]);
  const alerts = page.items;
  const total = stats.by_status.reduce((n, t) => n + t.alerts, 0);
  const fresh = (stats.by_status.find((t) => t.key === "new") || { alerts: 0 }).alerts;
  document.getElementById("count-agents").textContent = agents.length;
  document.getElementById("count-containers").textContent = containers.length;
  document.getElementById("count-alerts").textContent = total;
  document.getElementById("count-new").textContent = fresh;
  drawChart(stats, buckets);
  fillTable("top-rules", tallyRows(stats.top_rules, "top-rule", (t) => ({ rule: t.key })));
  fillTable("top-containers", tallyRows(stats.top_containers, "top-container", (t) => ({ container: t.key })));
  fillTable("top-images", tallyRows(stats.top_images, "top-image", (t) => ({ image: t.key })));
  fillTable("agents-table", agents.map(agentRow));
  fillTable("containers-table", containers.map((c) => el(
    "tr",
    { "data-testid": "container-row", "data-container-id": c.id },
    el("td", { className: "strong" }, c.name || "(unnamed)"),
    el("td", { className: "mono", title: c.id }, c.short_id),
    el("td", { className: "mono" }, c.image),
    el("td", {}, c.runtime),
    el("td", { className: "nowrap" }, shortTime(c.last_seen)),
  )));
  fillTable("recent-alerts", alerts.map((a) => el(
    "tr",
    { "data-testid": "recent-alert-row", "data-uuid": a.uuid },
    el("td", { className: "nowrap" }, shortTime(a.time)),
    el("td", {}, priorityBadge(a.priority)),
    el("td", { className: "strong" }, a.rule),
    el("td", {}, `${(a.process || {}).name || "?"} (${(a.process || {}).pid ?? "?"})`),
    el("td", {}, (a.container || {}).name || (a.container || {}).short_id || ""),
  )));
}

document.addEventListener("DOMContentLoaded", () => {
  const range = document.getElementById("chart-range");
  if (range) range.addEventListener("change", () => loadDashboard().then(() => showError(null), showError));
});
