"""Building `Finding`s from advisories, and the matching loop every matcher shares."""

from __future__ import annotations

from stockade.model.inventory import Finding, Package, Severity
from stockade.scan.matchers.base import Lookup, Matcher
from stockade.scan.matchers.evaluate import Verdict, evaluate
from stockade.scan.versions import VersionError, scheme_for
from stockade.scan.vulndb import Advisory, Affected, VulnDB

_TITLE_MAX = 200


def _title(adv: Advisory) -> str:
    if adv.summary:
        return adv.summary.strip().splitlines()[0][:_TITLE_MAX]
    first = adv.details.strip().splitlines()[0] if adv.details.strip() else adv.id
    return first[:_TITLE_MAX]


def _severity(adv: Advisory, affected: Affected) -> Severity:
    if adv.cvss_score > 0:
        return adv.severity
    if affected.severity is not Severity.UNKNOWN:
        return affected.severity
    return adv.severity


def to_finding(adv: Advisory, affected: Affected, verdict: Verdict, package: Package) -> Finding:
    """The vulnerability finding for `package` affected by `adv`."""
    description = adv.details or adv.summary
    if affected.status and affected.status != "resolved":
        description = f"{description}\n\nStatus in {affected.ecosystem}: {affected.status}".strip()
    return Finding(
        kind="vulnerability",
        id=adv.id,
        severity=_severity(adv, affected),
        title=_title(adv),
        description=description,
        target=package.name,
        installed_version=package.version,
        fixed_version=verdict.fixed,
        path=package.path,
        references=(*adv.aliases, *adv.references),
        cvss_score=adv.cvss_score,
        layer=package.layer,
    )


def match_with(matcher: Matcher, packages: list[Package], os: str, db: VulnDB) -> list[Finding]:
    """Look each package up as `matcher` says and evaluate every candidate advisory."""
    findings: list[Finding] = []
    for package in packages:
        lookup = matcher.lookup(package, os)
        if lookup is not None:
            findings.extend(_match_one(lookup, package, db))
    return findings


def _match_one(lookup: Lookup, package: Package, db: VulnDB) -> list[Finding]:
    out: list[Finding] = []
    seen: dict[str, str] = {}  # id or alias -> source that reported it
    try:
        scheme = scheme_for(lookup.ecosystem)
        scheme.compare(lookup.version, lookup.version)
    except VersionError:
        return out  # a version this ecosystem cannot order matches nothing
    for candidate in db.candidates(lookup.ecosystem, lookup.name):
        adv = candidate.advisory
        names = {adv.id, *adv.aliases}
        # the same vulnerability from two sources is one finding; within one source, keep all
        if any(seen.get(n, adv.source) != adv.source for n in names):
            continue
        verdict = evaluate(candidate.affected, lookup.version, scheme)
        if verdict is None:
            continue
        seen.update(dict.fromkeys(names, adv.source))
        out.append(to_finding(adv, candidate.affected, verdict, package))
    return out
