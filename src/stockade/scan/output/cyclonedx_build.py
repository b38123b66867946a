"""The CycloneDX 1.6 BOM, built when one is written (the library is slow to load)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import msgspec
from cyclonedx.model import XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.contact import OrganizationalContact
from cyclonedx.model.dependency import Dependency
from cyclonedx.model.impact_analysis import (
    ImpactAnalysisAffectedStatus,
    ImpactAnalysisJustification,
    ImpactAnalysisState,
)
from cyclonedx.model.vulnerability import (
    BomTarget,
    BomTargetVersionRange,
    Vulnerability,
    VulnerabilityAnalysis,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6

import stockade
from stockade.model.inventory import Finding, Package, ScanResult, Severity, Suppressed
from stockade.scan.graph import with_ids
from stockade.scan.output.base import TOOL_NAME
from stockade.scan.output.cyclonedx_components import (
    file_components,
    os_component,
    package_component,
)

_SEVERITY = {
    Severity.CRITICAL: VulnerabilitySeverity.CRITICAL,
    Severity.HIGH: VulnerabilitySeverity.HIGH,
    Severity.MEDIUM: VulnerabilitySeverity.MEDIUM,
    Severity.LOW: VulnerabilitySeverity.LOW,
    Severity.UNKNOWN: VulnerabilitySeverity.UNKNOWN,
}


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


_STATES = {  # VEX statuses (OpenVEX's and CycloneDX's words) -> CycloneDX analysis states
    "not_affected": ImpactAnalysisState.NOT_AFFECTED,
    "fixed": ImpactAnalysisState.RESOLVED,
    "resolved": ImpactAnalysisState.RESOLVED,
    "false_positive": ImpactAnalysisState.FALSE_POSITIVE,
}
_JUSTIFICATIONS = {  # OpenVEX justifications -> CycloneDX's nearest
    "component_not_present": ImpactAnalysisJustification.CODE_NOT_PRESENT,
    "vulnerable_code_not_present": ImpactAnalysisJustification.CODE_NOT_PRESENT,
    "vulnerable_code_not_in_execute_path": ImpactAnalysisJustification.CODE_NOT_REACHABLE,
    "vulnerable_code_cannot_be_controlled_by_adversary": (
        ImpactAnalysisJustification.PROTECTED_BY_MITIGATING_CONTROL
    ),
    "inline_mitigations_already_exist": (
        ImpactAnalysisJustification.PROTECTED_BY_MITIGATING_CONTROL
    ),
}


def _analysis(hidden: Suppressed) -> VulnerabilityAnalysis:
    """How a suppressed finding was judged: the VEX state and justification, or the
    ignore rule's reason (CycloneDX has no state for an accepted finding)."""
    justification = _JUSTIFICATIONS.get(hidden.justification)
    if justification is None and hidden.justification:
        try:
            justification = ImpactAnalysisJustification(hidden.justification)
        except ValueError:
            justification = None
    detail = "; ".join(x for x in (hidden.statement, f"suppressed by {hidden.source}") if x)
    return VulnerabilityAnalysis(
        state=_STATES.get(hidden.status), justification=justification, detail=detail
    )


def _vulnerability(
    vuln_id: str,
    findings: list[Finding],
    refs: dict[str, str],
    hidden: Suppressed | None = None,
    bom_ref: str = "",
) -> Vulnerability:
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
                    version=f.installed_version,
                    status=ImpactAnalysisAffectedStatus.UNAFFECTED
                    if hidden is not None and hidden.status != "ignored"
                    else ImpactAnalysisAffectedStatus.AFFECTED,
                )
            ],
        )
        for f in findings
        if f"{f.target}@{f.installed_version}" in refs
    ]
    aliases = [r for r in first.references if not r.startswith(("http://", "https://"))]
    return Vulnerability(
        bom_ref=bom_ref or f"vuln:{vuln_id}",
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
        analysis=_analysis(hidden) if hidden is not None else None,
    )


def cyclonedx_json(result: ScanResult) -> bytes:
    """The BOM of `result`: metadata component = the image; the OS and each package as
    components, with the packages' dependencies; vulnerabilities, suppressed ones with
    their analysis."""
    bom = Bom()
    root = Component(type=ComponentType.CONTAINER, name=result.target, bom_ref="image")
    if result.image_digest:
        root.version = result.image_digest
    bom.metadata.component = root
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name=TOOL_NAME, version=stockade.__version__)
    )
    bom.metadata.authors.add(OrganizationalContact(name=f"{TOOL_NAME} {stockade.__version__}"))
    packages = result.packages
    if not all(p.id for p in packages):  # a result built by hand rather than by a scan
        packages = with_ids(packages)
    refs: dict[str, str] = {}
    components = []
    for package in packages:
        refs.setdefault(f"{package.name}@{package.version}", package.id)
        components.append(package_component(package, package.id))
    operating_system = os_component(result)
    top = [operating_system, *components] if operating_system else components
    bom.components.update(top)
    # Bom.register_dependency scans every known dependency per call (quadratic): build directly
    bom.dependencies.update(
        [
            Dependency(ref=root.bom_ref, dependencies=[Dependency(ref=c.bom_ref) for c in top]),
            *(
                Dependency(
                    ref=component.bom_ref,
                    dependencies=[Dependency(ref=BomRef(ref)) for ref in package.depends_on],
                )
                for package, component in zip(packages, components, strict=True)
            ),
        ]
    )
    if operating_system is not None:
        bom.dependencies.add(Dependency(ref=operating_system.bom_ref))
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        if finding.kind == "vulnerability":
            grouped[finding.id].append(finding)
    for vuln_id, findings in grouped.items():
        bom.vulnerabilities.add(_vulnerability(vuln_id, findings, refs))
    for n, hidden in enumerate(result.suppressed):
        if hidden.finding.kind == "vulnerability":
            ref = f"vuln:{hidden.finding.id}:suppressed:{n}"
            bom.vulnerabilities.add(
                _vulnerability(hidden.finding.id, [hidden.finding], refs, hidden, ref)
            )
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    if not any(p.files for p in packages):
        return text.encode()
    return _with_files(text, packages)


def _with_files(text: str, packages: list[Package]) -> bytes:
    """The BOM with each package's files nested in its component (see `file_components`)."""
    document = msgspec.json.decode(text)
    by_ref = {c["bom-ref"]: c for c in document.get("components", [])}
    for package in packages:
        if package.files and package.id in by_ref:
            by_ref[package.id]["components"] = file_components(package.id, package.files)
    return msgspec.json.format(msgspec.json.encode(document), indent=2)
