"""Matchers for OS packages: Debian by source package and release, Alpine by origin and branch."""

from __future__ import annotations

import re

from stockade.model.inventory import Finding, Package
from stockade.scan.matchers.base import MATCHERS, Lookup, Matcher
from stockade.scan.matchers.findings import match_with
from stockade.scan.vulndb import VulnDB

_OS = re.compile(r"^\s*([A-Za-z]+)[\s:/-]*v?(\d+)(?:\.(\d+))?")


def release_of(package: Package, os: str) -> tuple[str, str, str] | None:
    """(distro id, major, minor) from the package's distro ("debian:12") or the scan's os."""
    m = _OS.match(package.distro or os)
    if m is None:
        return None
    return m[1].lower(), m[2], m[3] or ""


class DebianMatcher(Matcher):
    """Debian tracks advisories per source package: match source name and version per release."""

    id = "debian"

    def lookup(self, package: Package, os: str) -> Lookup | None:
        """("Debian:12", source name, source version), falling back to the binary's."""
        release = release_of(package, os)
        if release is None or release[0] != "debian":
            return None
        name = package.source_name or package.name
        version = package.source_version or package.version
        return Lookup(f"Debian:{release[1]}", name, version)

    def match(self, packages: list[Package], os: str, db: VulnDB) -> list[Finding]:
        """Findings for these Debian packages."""
        return match_with(self, packages, os, db)


class AlpineMatcher(Matcher):
    """Alpine's secdb names origin packages per branch (v3.20)."""

    id = "alpine"

    def lookup(self, package: Package, os: str) -> Lookup | None:
        """("Alpine:v3.20", origin name, version)."""
        release = release_of(package, os)
        if release is None or release[0] != "alpine" or not release[2]:
            return None
        name = package.source_name or package.name
        return Lookup(f"Alpine:v{release[1]}.{release[2]}", name, package.version)

    def match(self, packages: list[Package], os: str, db: VulnDB) -> list[Finding]:
        """Findings for these Alpine packages."""
        return match_with(self, packages, os, db)


MATCHERS.register(DebianMatcher.id, DebianMatcher())
MATCHERS.register(AlpineMatcher.id, AlpineMatcher())
