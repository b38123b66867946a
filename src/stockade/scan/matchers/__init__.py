"""Matchers: packages + the local advisory database -> vulnerability findings."""

from __future__ import annotations

from collections import defaultdict

from stockade.model.inventory import Finding, Package
from stockade.scan.ecosystems import spec_of
from stockade.scan.matchers.base import MATCHERS, Lookup, Matcher, MatchError
from stockade.scan.matchers.evaluate import Verdict, evaluate
from stockade.scan.vulndb import VulnDB, open_db

__all__ = [
    "MATCHERS",
    "Lookup",
    "MatchError",
    "Matcher",
    "Verdict",
    "VulnDB",
    "evaluate",
    "match_packages",
    "open_db",
]


def match_packages(packages: list[Package], os: str, db: VulnDB) -> list[Finding]:
    """Vulnerability findings for `packages`; `os` is the scan's OS, e.g. "debian 12".

    Packages no matcher can place (an RPM distro other than Rocky or Alma, a Debian
    package without a release) are left unmatched.
    """
    by_matcher: dict[str, list[Package]] = defaultdict(list)
    for package in packages:
        by_matcher[spec_of(package.ecosystem).matcher].append(package)
    findings: list[Finding] = []
    for matcher, group in by_matcher.items():
        findings.extend(MATCHERS.get(matcher).match(group, os, db))
    return findings
