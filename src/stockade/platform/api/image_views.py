"""How scanned images look in the user API's JSON (pure functions of records and scans)."""

from __future__ import annotations

from typing import Any

import msgspec

from stockade.model.inventory import Finding, Package, Severity
from stockade.platform.store import ImageRecord, StoredScan
from stockade.platform.timestamps import format_ns


def parse_severity(text: str) -> Severity:
    """A severity by name, any case; ValueError lists the names."""
    try:
        return Severity[text.strip().upper()]
    except KeyError:
        names = ", ".join(s.name for s in reversed(Severity))
        raise ValueError(f"unknown severity {text!r}; use one of {names}") from None


def image_view(image: ImageRecord) -> dict[str, Any]:
    """An image with its names, OS, finding counts and when it was scanned."""
    return {
        "digest": image.digest,
        "names": list(image.names),
        "name": image.names[0] if image.names else "",
        "os": image.os,
        "target": image.target,
        "agent_id": image.agent_id,
        "packages": image.packages,
        "findings": sum(image.by_severity.values()),
        "by_severity": image.by_severity,
        "by_kind": image.by_kind,
        "max_severity": Severity(image.max_severity).name if image.max_severity >= 0 else None,
        "first_seen": format_ns(image.first_seen),
        "last_seen": format_ns(image.last_seen),
        "last_scanned": format_ns(image.scanned_at),
    }


def finding_view(finding: Finding) -> dict[str, Any]:
    """A finding with its severity by name and the layer that brought it."""
    body: dict[str, Any] = msgspec.to_builtins(finding)
    body["severity"] = finding.severity.name
    body["layer_digest"] = finding.layer.digest or finding.layer.diff_id
    return body


def package_view(package: Package) -> dict[str, Any]:
    """A package with the layer that brought it."""
    body: dict[str, Any] = msgspec.to_builtins(package)
    body["layer_digest"] = package.layer.digest or package.layer.diff_id
    return body


def select_findings(
    findings: list[Finding], kind: str | None, min_severity: Severity | None
) -> list[Finding]:
    """Findings of `kind` at `min_severity` or worse, worst first (stable otherwise)."""
    chosen = [
        f
        for f in findings
        if (kind is None or f.kind == kind) and (min_severity is None or f.severity >= min_severity)
    ]
    return sorted(chosen, key=lambda f: -int(f.severity))


def image_detail_view(
    scan: StoredScan, kind: str | None, min_severity: Severity | None, limit: int
) -> dict[str, Any]:
    """The image, its layers, packages and (filtered) findings, each list cut at `limit`."""
    result = scan.result
    findings = select_findings(result.findings, kind, min_severity)
    body = image_view(scan.image)
    body.update(
        {
            "layers": [msgspec.to_builtins(layer) for layer in result.layers],
            "packages_total": len(result.packages),
            "package_list": [package_view(p) for p in result.packages[:limit]],
            "findings_total": len(findings),
            "finding_list": [finding_view(f) for f in findings[:limit]],
            "warnings": result.warnings,
        }
    )
    return body
