"""Matcher for RPM distributions whose advisories OSV carries (Rocky Linux, AlmaLinux)."""

from __future__ import annotations

from stockade.model.inventory import Finding, Package
from stockade.scan.matchers.base import MATCHERS, Lookup, Matcher
from stockade.scan.matchers.distro import release_of
from stockade.scan.matchers.findings import match_with
from stockade.scan.vulndb import VulnDB

# os-release ID -> OSV ecosystem name; the release's major version follows the colon
OSV_ECOSYSTEMS = {"rocky": "Rocky Linux", "almalinux": "AlmaLinux"}


class RpmMatcher(Matcher):
    """Looks binary RPMs up by name and [epoch:]version-release in "<distro>:<major>"."""

    id = "rpm"

    def lookup(self, package: Package, os: str) -> Lookup | None:
        """("Rocky Linux:9", name, evr); None for distributions without OSV advisories here."""
        release = release_of(package, os)
        if release is None or release[0] not in OSV_ECOSYSTEMS:
            return None
        return Lookup(f"{OSV_ECOSYSTEMS[release[0]]}:{release[1]}", package.name, package.version)

    def match(self, packages: list[Package], os: str, db: VulnDB) -> list[Finding]:
        """Findings for these RPM packages."""
        return match_with(self, packages, os, db)


MATCHERS.register(RpmMatcher.id, RpmMatcher())
