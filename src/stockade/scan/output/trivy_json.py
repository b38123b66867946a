"""Trivy's JSON report shape (`trivy-json`): Results by target and class, severities as words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from stockade.model.inventory import Ecosystem, Finding, LayerRef, Package, ScanResult
from stockade.scan.output.base import WRITERS, ReportWriter

SCHEMA_VERSION = 2  # the Trivy report version whose field names this one follows
_OS = frozenset({Ecosystem.DEBIAN, Ecosystem.ALPINE, Ecosystem.RPM})
_INSTALLED = {  # Trivy's target and type for installed language packages in an image
    Ecosystem.PYPI: ("Python", "python-pkg"),
    Ecosystem.NPM: ("Node.js", "node-pkg"),
    Ecosystem.MAVEN: ("Java", "jar"),
    Ecosystem.RUBYGEMS: ("Ruby", "gemspec"),
}
_LOCKFILE_TYPE = {  # a lock file is its own target, typed by its ecosystem
    Ecosystem.PYPI: "pip",
    Ecosystem.NPM: "npm",
    Ecosystem.GO: "gomod",
    Ecosystem.MAVEN: "pom",
    Ecosystem.RUBYGEMS: "bundler",
}
_CLASS_ORDER = {"os-pkgs": 0, "lang-pkgs": 1, "config": 2, "secret": 3, "custom": 4}
Key = tuple[str, str, str]  # Target, Class, Type


def _layer(layer: LayerRef) -> dict[str, str]:
    return {k: v for k, v in (("Digest", layer.digest), ("DiffID", layer.diff_id)) if v}


def _package_key(package: Package, os_target: str, os_family: str) -> Key:
    if package.ecosystem in _OS:
        return (os_target, "os-pkgs", os_family or package.ecosystem.value.lower())
    if package.from_lockfile:
        return (package.path, "lang-pkgs", _LOCKFILE_TYPE.get(package.ecosystem, "lockfile"))
    if package.ecosystem is Ecosystem.GO:
        return (package.path, "lang-pkgs", "gobinary")  # Trivy: one result per binary
    target, kind = _INSTALLED.get(package.ecosystem, (package.ecosystem.value, ""))
    return (target, "lang-pkgs", kind)


def split_version(version: str) -> dict[str, Any]:
    """A deb or rpm version as Trivy lists it: Epoch (a number), Version, Release."""
    epoch, _, rest = version.rpartition(":") if ":" in version else ("", "", version)
    upstream, _, release = rest.rpartition("-") if "-" in rest else (rest, "", "")
    return {"Epoch": int(epoch) if epoch.isdigit() else 0, "Version": upstream, "Release": release}


def _package(package: Package) -> dict[str, Any]:
    split = package.ecosystem in (Ecosystem.DEBIAN, Ecosystem.RPM)
    doc: dict[str, Any] = {
        "ID": f"{package.name}@{package.version}",
        "Name": package.name,
        "Identifier": {"PURL": package.purl} if package.purl else {},
        **(split_version(package.version) if split else {"Version": package.version}),
        "Arch": package.arch,
        "SrcName": package.source_name,
        "SrcVersion": package.source_version,
        "Licenses": list(package.licenses),
        "Layer": _layer(package.layer),
        "FilePath": "" if package.ecosystem in _OS else package.path,
    }
    return {k: v for k, v in doc.items() if v}  # Trivy leaves empty fields out


def primary_url(vuln_id: str) -> str:
    """Where to read about `vuln_id`: NVD for CVEs, GitHub for GHSAs, else OSV."""
    if vuln_id.startswith("CVE-"):
        return f"https://nvd.nist.gov/vuln/detail/{vuln_id}"
    if vuln_id.startswith("GHSA-"):
        return f"https://github.com/advisories/{vuln_id}"
    return f"https://osv.dev/vulnerability/{vuln_id}"


def _vulnerability(finding: Finding, package: Package | None) -> dict[str, Any]:
    # a finding's references hold its aliases (ids) and its links: Trivy keeps them apart
    urls = [r for r in finding.references if "://" in r]
    aliases = [r for r in finding.references if "://" not in r and r != finding.id]
    doc: dict[str, Any] = {
        "VulnerabilityID": finding.id,
        "VendorIDs": aliases,
        "PkgID": f"{finding.target}@{finding.installed_version}",
        "PkgName": finding.target,
        "PkgPath": finding.path if package is None or package.ecosystem not in _OS else "",
        "PkgIdentifier": {"PURL": package.purl} if package and package.purl else {},
        "InstalledVersion": finding.installed_version,
        "FixedVersion": finding.fixed_version,
        "Status": "fixed" if finding.fixed_version else "affected",
        "Layer": _layer(finding.layer),
        "PrimaryURL": primary_url(finding.id),
        "Title": finding.title,
        "Description": finding.description,
        "Severity": finding.severity.name,
        "CVSS": {"stockade": {"Score": finding.cvss_score}} if finding.cvss_score else {},
        "References": urls,
    }
    return {k: v for k, v in doc.items() if v}


def _file_finding(finding: Finding) -> tuple[Key, str, dict[str, Any]]:
    where = finding.path or finding.target or "image config"
    common = {"Severity": finding.severity.name, "Title": finding.title}
    if finding.kind == "secret":
        lines = {"StartLine": finding.line, "EndLine": finding.line}
        doc = {"RuleID": finding.id, "Category": finding.description, **common, **lines}
        doc |= {"Match": finding.match, "Layer": _layer(finding.layer)}
        return (where, "secret", ""), "Secrets", doc
    if finding.kind == "misconfiguration":
        doc = {"ID": finding.id, **common, "Message": finding.description}
        doc |= {"Resolution": finding.remediation, "Status": "FAIL"}
        doc |= {"CauseMetadata": {"StartLine": finding.line, "EndLine": finding.line}}
        doc["Layer"] = _layer(finding.layer)
        return (where, "config", "dockerfile"), "Misconfigurations", doc
    doc = {"RuleID": finding.id, **common, "Match": finding.match}
    return (where, "custom", finding.kind), "CustomResources", doc


def trivy_report(result: ScanResult) -> dict[str, Any]:
    """The report as a dict: Metadata, then one entry of Results per target."""
    os_family, _, os_name = result.os.partition(" ")
    os_target = f"{result.target} ({result.os})" if result.os else result.target
    results: dict[Key, dict[str, Any]] = {}

    def entry(key: Key) -> dict[str, Any]:
        return results.setdefault(key, {"Target": key[0], "Class": key[1], "Type": key[2]})

    by_id: dict[tuple[str, str, str], Package] = {}
    for package in result.packages:
        key = _package_key(package, os_target, os_family)
        entry(key).setdefault("Packages", []).append(_package(package))
        by_id.setdefault((package.name, package.version, package.path), package)

    def placed(finding: Finding) -> tuple[Key, str, dict[str, Any]]:
        """Where a finding goes (its package's result, or its file's) and as what."""
        if finding.kind != "vulnerability":
            return _file_finding(finding)
        found = by_id.get((finding.target, finding.installed_version, finding.path))
        key = (
            _package_key(found, os_target, os_family) if found else (finding.path, "lang-pkgs", "")
        )
        return key, "Vulnerabilities", _vulnerability(finding, found)

    for finding in result.findings:
        key, field, doc = placed(finding)
        entry(key).setdefault(field, []).append({k: v for k, v in doc.items() if v})
    for hidden in result.suppressed:  # as Trivy shows them with --show-suppressed
        key, _, doc = placed(hidden.finding)
        modified: dict[str, Any] = {"Type": hidden.finding.kind, "Status": hidden.status}
        modified |= {"Statement": hidden.statement, "Source": hidden.source}
        if hidden.justification:
            modified["Justification"] = hidden.justification
        modified["Finding"] = {k: v for k, v in doc.items() if v}
        entry(key).setdefault("ExperimentalModifiedFindings", []).append(modified)
    metadata: dict[str, Any] = {
        "OS": {"Family": os_family, "Name": os_name} if result.os else {},
        "ImageID": result.image_config_digest,
        "RepoDigests": [result.image_digest] if result.image_digest else [],
        "DiffIDs": [layer.diff_id for layer in result.layers],
        "Layers": [_layer(layer) for layer in result.layers],
    }
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "CreatedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "ArtifactName": result.target,
        "ArtifactType": "container_image" if result.layers else "filesystem",
        "Metadata": {k: v for k, v in metadata.items() if v},
        "Results": sorted(results.values(), key=lambda r: (_CLASS_ORDER[r["Class"]], r["Target"])),
    }


class TrivyJsonWriter(ReportWriter):
    """JSON in the shape of Trivy's report, for tools and people used to it."""

    name = "trivy-json"
    media_type = "application/json"

    def write(self, result: ScanResult) -> bytes:
        """The report, indented like Trivy's."""
        return msgspec.json.format(msgspec.json.encode(trivy_report(result)), indent=2) + b"\n"


WRITERS.register("trivy-json", TrivyJsonWriter())
