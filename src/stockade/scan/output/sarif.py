"""SARIF 2.1.0: one rule per finding id, one result per finding, located at its file."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec

import stockade
from stockade.model.inventory import Finding, ScanResult, Severity, Suppressed
from stockade.scan.output.base import TOOL_NAME, TOOL_URI, WRITERS, ReportWriter

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.UNKNOWN: "note",
}
# GitHub code scanning reads "security-severity" (a CVSS-like number) from rule properties
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.UNKNOWN: "0.0",
}


def level(severity: Severity) -> str:
    """The SARIF result level for a severity."""
    return _LEVELS[severity]


def _uri(finding: Finding, target: str) -> str:
    where = finding.path or finding.target or target
    return quote(where.lstrip("/"), safe="/:@-._~")


def _message(finding: Finding) -> str:
    if finding.kind == "vulnerability":
        text = f"{finding.target} {finding.installed_version} is affected by {finding.id}"
        fix = f"; fixed in {finding.fixed_version}" if finding.fixed_version else "; no fix yet"
        return f"{text}{fix}. {finding.title}".strip()
    return finding.title or finding.description or finding.id


def _rule(finding: Finding) -> dict[str, Any]:
    help_uri = next((r for r in finding.references if r.startswith("http")), "")
    rule: dict[str, Any] = {
        "id": finding.id,
        "name": finding.kind.title().replace("-", ""),
        "shortDescription": {"text": finding.title or finding.id},
        "fullDescription": {"text": finding.description or finding.title or finding.id},
        "defaultConfiguration": {"level": level(finding.severity)},
        "properties": {
            "tags": [finding.kind, "security", finding.severity.name],
            "security-severity": (
                f"{finding.cvss_score:.1f}"
                if finding.cvss_score
                else _SECURITY_SEVERITY[finding.severity]
            ),
        },
    }
    if help_uri:
        rule["helpUri"] = help_uri
    return rule


def _result(finding: Finding, rule_index: int, target: str) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(finding, target)}}
    if finding.line > 0:
        physical["region"] = {"startLine": finding.line}
    location: dict[str, Any] = {"physicalLocation": physical}
    if finding.kind == "vulnerability":
        name = f"{finding.target}@{finding.installed_version}"
        location["logicalLocations"] = [{"name": name, "kind": "package"}]
    return {
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "level": level(finding.severity),
        "message": {"text": _message(finding)},
        "locations": [location],
    }


def _suppression(hidden: Suppressed) -> dict[str, Any]:
    """SARIF's record of a finding an ignore rule or a VEX statement hid (still listed)."""
    why = [hidden.status, hidden.justification, hidden.statement, f"by {hidden.source}"]
    return {
        "kind": "external",
        "status": "accepted",
        "justification": "; ".join(w for w in why if w and w != "by "),
    }


class SarifWriter(ReportWriter):
    """SARIF 2.1.0 log with a single run."""

    name = "sarif"
    media_type = "application/sarif+json"

    def write(self, result: ScanResult) -> bytes:
        """The SARIF log of `result`'s findings."""
        rules: list[dict[str, Any]] = []
        index: dict[str, int] = {}
        results = []
        for finding in result.findings:
            if finding.id not in index:
                index[finding.id] = len(rules)
                rules.append(_rule(finding))
            results.append(_result(finding, index[finding.id], result.target))
        for hidden in result.suppressed:  # listed with their suppression, as SARIF asks
            if hidden.finding.id not in index:
                index[hidden.finding.id] = len(rules)
                rules.append(_rule(hidden.finding))
            entry = _result(hidden.finding, index[hidden.finding.id], result.target)
            entry["suppressions"] = [_suppression(hidden)]
            results.append(entry)
        log = {
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": TOOL_NAME,
                            "version": stockade.__version__,
                            "informationUri": TOOL_URI,
                            "rules": rules,
                        }
                    },
                    "results": results,
                    "properties": {"target": result.target, "os": result.os},
                }
            ],
        }
        return msgspec.json.format(msgspec.json.encode(log), indent=2) + b"\n"


WRITERS.register("sarif", SarifWriter())
