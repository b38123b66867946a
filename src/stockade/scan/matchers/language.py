"""Matchers for language ecosystems (PyPI, npm, Go, Maven, RubyGems): OSV-style lookups."""

from __future__ import annotations

from stockade.model.inventory import Ecosystem, Finding, Package
from stockade.scan.matchers.base import MATCHERS, Lookup, Matcher
from stockade.scan.matchers.findings import match_with
from stockade.scan.vulndb import VulnDB


class LanguageMatcher(Matcher):
    """Looks a package up by its own name and version in its ecosystem; the OS plays no part."""

    def __init__(self, ecosystem: Ecosystem) -> None:
        self.ecosystem = ecosystem.value

    def lookup(self, package: Package, os: str) -> Lookup | None:  # noqa: ARG002
        """(ecosystem, name, version) as the package reports them."""
        return Lookup(self.ecosystem, package.name, package.version)

    def match(self, packages: list[Package], os: str, db: VulnDB) -> list[Finding]:
        """Findings for these language packages."""
        return match_with(self, packages, os, db)


for _eco in (Ecosystem.PYPI, Ecosystem.NPM, Ecosystem.GO, Ecosystem.MAVEN, Ecosystem.RUBYGEMS):
    MATCHERS.register(_eco.value, LanguageMatcher(_eco))
