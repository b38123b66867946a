"""The CycloneDX 1.6 BOM, built when one is written (the library is slow to load)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from cyclonedx.model import Property, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.dependency import Dependency
from cyclonedx.model.impact_analysis import ImpactAnalysisAffectedStatus
from cyclonedx.model.license import DisjunctiveLicense, License, LicenseExpression
from cyclonedx.model.vulnerability import (
    BomTarget,
    BomTargetVersionRange,
    Vulnerability,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.spdx import fixup_id, is_expression
from packageurl import PackageURL

import stockade
from stockade.model.inventory import Finding, Package, ScanResult, Severity
from stockade.scan.ecosystems import split_name
from stockade.scan.output.base import TOOL_NAME
from stockade.scan.purl import purl_of

_SEVERITY = {
    Severity.CRITICAL: VulnerabilitySeverity.CRITICAL,
    Severity.HIGH: VulnerabilitySeverity.HIGH,
    Severity.MEDIUM: VulnerabilitySeverity.MEDIUM,
    Severity.LOW: VulnerabilitySeverity.LOW,
    Severity.UNKNOWN: VulnerabilitySeverity.UNKNOWN,
}


FROM_LOCKFILE = "stockade:package:from_lockfile"  # declared by a lock file, not installed


def _license(text: str, alone: bool = True) -> License:
    """An SPDX id, else an SPDX expression (only as a lone licence), else the name as written."""
    spdx = fixup_id(text)
    if spdx is not None:
        return DisjunctiveLicense(id=spdx)
    if alone and is_expression(text):
        return LicenseExpression(text)
    return DisjunctiveLicense(name=text)


def _component(package: Package, ref: str) -> Component:
    group, name = split_name(package.ecosystem, package.name)  # Maven group, npm scope, ...
    return Component(
        type=ComponentType.LIBRARY,
        group=group or None,
        name=name,
        version=package.version,
        bom_ref=ref,
        purl=PackageURL.from_string(purl_of(package)),
        licenses=[_license(text, len(package.licenses) == 1) for text in package.licenses if text],
        properties=[Property(name=FROM_LOCKFILE, value="true")] if package.from_lockfile else [],
    )


def _source(vuln_id: str) -> VulnerabilitySource | None:
    prefix = vuln_id.split("-", 1)[0]
    urls = {
        "CVE": f"https://nvd.nist.gov/vuln/detail/{vuln_id}",
        "GHSA": f"https://github.com/advisories/{vuln_id}",
        "PYSEC": f"https://osv.dev/vulnerability/{vuln_id}",
        "GO": f"https://pkg.go.dev/vuln/{vuln_id}",
    }
    if prefix not in urls:
        return None
    return VulnerabilitySource(name={"CVE": "NVD"}.get(prefix, "OSV"), url=XsUri(urls[prefix]))


def _vulnerability(vuln_id: str, findings: list[Finding], refs: dict[str, str]) -> Vulnerability:
    first = findings[0]
    rating = VulnerabilityRating(
        score=Decimal(str(first.cvss_score)) if first.cvss_score else None,
        severity=_SEVERITY[first.severity],
    )
    fixes = sorted({f"{f.target} {f.fixed_version}" for f in findings if f.fixed_version})
    affects = [
        BomTarget(
            ref=refs[f"{f.target}@{f.installed_version}"],
            versions=[
                BomTargetVersionRange(
                    version=f.installed_version, status=ImpactAnalysisAffectedStatus.AFFECTED
                )
            ],
        )
        for f in findings
        if f"{f.target}@{f.installed_version}" in refs
    ]
    aliases = [r for r in first.references if not r.startswith(("http://", "https://"))]
    return Vulnerability(
        bom_ref=f"vuln:{vuln_id}",
        id=vuln_id,
        source=_source(vuln_id),
        references=[
            VulnerabilityReference(id=a, source=source)
            for a in aliases
            if (source := _source(a)) is not None
        ],
        ratings=[rating],
        description=first.title or None,
        detail=first.description or None,
        recommendation=("Upgrade: " + ", ".join(fixes)) if fixes else None,
        affects=affects,
    )


def cyclonedx_json(result: ScanResult) -> bytes:
    """The BOM of `result`: metadata component = the image, one component per package."""
    bom = Bom()
    root = Component(type=ComponentType.CONTAINER, name=result.target, bom_ref="image")
    if result.image_digest:
        root.version = result.image_digest
    bom.metadata.component = root
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name=TOOL_NAME, version=stockade.__version__)
    )
    refs: dict[str, str] = {}
    components = []
    for n, package in enumerate(result.packages):
        ref = f"pkg:{n}:{package.ecosystem.value}/{package.name}@{package.version}"
        refs.setdefault(f"{package.name}@{package.version}", ref)
        components.append(_component(package, ref))
    bom.components.update(components)
    # Bom.register_dependency scans every known dependency per call (quadratic): build directly
    bom.dependencies.update(
        [
            Dependency(
                ref=root.bom_ref, dependencies=[Dependency(ref=c.bom_ref) for c in components]
            ),
            *(Dependency(ref=c.bom_ref) for c in components),
        ]
    )
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        if finding.kind == "vulnerability":
            grouped[finding.id].append(finding)
    for vuln_id, findings in grouped.items():
        bom.vulnerabilities.add(_vulnerability(vuln_id, findings, refs))
    return JsonV1Dot6(bom).output_as_string(indent=2).encode()
