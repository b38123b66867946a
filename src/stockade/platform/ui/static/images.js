// Stockade web console: scanned images and one image's findings (uses app.js helpers).
"use strict";

const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"];

function severityBadge(severity, testid) {
  const name = String(severity || "UNKNOWN");
  return el("span", { className: `badge sev-${name.toLowerCase()}`, "data-testid": testid }, name);
}

function severityCounts(image) {
  const counts = image.by_severity || {};
  const cell = el("td", { className: "nowrap", "data-testid": "image-counts" });
  for (const name of SEVERITIES) {
    const n = counts[name] || 0;
    cell.append(el(
      "span",
      { className: `count ${n ? `sev-${name.toLowerCase()}` : "zero"}`, title: name, "data-severity": name },
      `${name[0]} ${n}`,
    ));
  }
  return cell;
}

function kinds(image) {
  return Object.entries(image.by_kind || {}).map(([kind, n]) => `${n} ${kind}`).join(", ") || "none";
}

function imageRow(image) {
  const link = el("a", { href: `/images.html?digest=${encodeURIComponent(image.digest)}`, "data-testid": "image-link" }, image.name || "(unnamed)");
  return el(
    "tr",
    { "data-testid": "image-row", "data-digest": image.digest },
    el(
      "td",
      {},
      el("div", { className: "strong" }, link),
      el("div", { className: "mono tiny", "data-testid": "image-digest" }, image.digest),
    ),
    el("td", { "data-testid": "image-os" }, image.os || "unknown"),
    el("td", {}, image.packages),
    severityCounts(image),
    el("td", { className: "small" }, kinds(image)),
    el("td", { className: "nowrap" }, shortTime(image.last_scanned)),
  );
}

function findingRow(f) {
  const versions = f.installed_version || f.fixed_version
    ? `${f.installed_version || "?"} → ${f.fixed_version || "no fix"}`
    : "";
  return el(
    "tr",
    { "data-testid": "finding-row", "data-finding-id": f.id },
    el("td", {}, severityBadge(f.severity, "finding-severity")),
    el(
      "td",
      {},
      el("div", { className: "strong mono", "data-testid": "finding-id" }, f.id),
      el("div", { className: "small" }, f.title || ""),
    ),
    el("td", { "data-testid": "finding-kind" }, f.kind),
    el(
      "td",
      {},
      el("div", { className: "mono", "data-testid": "finding-target" }, f.target || f.path || ""),
      f.match ? el("div", { className: "mono tiny" }, f.match) : null,
    ),
    el("td", { className: "mono nowrap", "data-testid": "finding-versions" }, versions),
    el("td", { className: "mono tiny", "data-testid": "finding-layer", title: f.layer?.created_by || "" }, (f.layer_digest || "").slice(0, 19)),
  );
}

function packageRow(p) {
  return el(
    "tr",
    { "data-testid": "package-row" },
    el("td", { className: "strong" }, p.name),
    el("td", { className: "mono" }, p.version),
    el("td", {}, p.ecosystem),
    el("td", { className: "mono tiny" }, p.path),
    el("td", { className: "mono tiny" }, (p.layer_digest || "").slice(0, 19)),
  );
}

function card(figure, label) {
  const size = typeof figure === "number" ? "figure" : "figure text";
  return el("div", { className: "card" }, el("div", { className: size }, figure), el("div", {}, label));
}

async function loadImageDetail(digest) {
  const form = new FormData(document.getElementById("finding-filters"));
  const params = new URLSearchParams({ limit: "2000" });
  for (const [key, value] of form.entries()) if (value) params.set(key, value);
  const image = await api(`/api/v1/images/${encodeURIComponent(digest)}?${params}`);
  document.getElementById("image-title").textContent = image.names.join(", ") || "(unnamed image)";
  document.getElementById("image-digest").textContent = image.digest;
  const counts = image.by_severity || {};
  document.getElementById("image-cards").replaceChildren(
    card(image.os || "unknown", "OS"),
    card(image.packages, "packages"),
    ...SEVERITIES.slice(0, 3).map((s) => card(counts[s] || 0, s.toLowerCase())),
    card(shortTime(image.last_scanned).replace(/\.\d+ UTC$/, " UTC"), "last scanned"),
  );
  fillTable("findings-table", image.finding_list.map(findingRow));
  document.getElementById("findings-empty").hidden = image.finding_list.length > 0;
  fillTable("packages-table", image.package_list.map(packageRow));
  document.getElementById("packages-count").textContent = `(${image.packages_total})`;
}

async function loadImages() {
  const digest = new URLSearchParams(location.search).get("digest");
  document.getElementById("image-list").hidden = Boolean(digest);
  document.getElementById("image-detail").hidden = !digest;
  if (digest) return loadImageDetail(digest);
  const form = new FormData(document.getElementById("image-filters"));
  const params = new URLSearchParams({ limit: "500" });
  for (const [key, value] of form.entries()) if (value) params.set(key, value);
  const images = await api(`/api/v1/images?${params}`);
  fillTable("images-table", images.map(imageRow));
  document.getElementById("images-empty").hidden = images.length > 0;
}
