"""Matcher for language ecosystems (PyPI, npm, Go, Maven, RubyGems): OSV-style lookups."""

from __future__ import annotations

from stockade.model.inventory import Finding, Package
from stockade.scan.ecosystems import spec_of
from stockade.scan.matchers.base import MATCHERS, Lookup, Matcher
from stockade.scan.matchers.findings import match_with
from stockade.scan.vulndb import VulnDB


class LanguageMatcher(Matcher):
    """Looks a package up by its own name and version in its ecosystem; the OS plays no part."""

    id = "language"

    def lookup(self, package: Package, os: str) -> Lookup | None:  # noqa: ARG002
        """(the ecosystem's advisory name, name, version) as the package reports them."""
        return Lookup(spec_of(package.ecosystem).advisory_names[0], package.name, package.version)

    def match(self, packages: list[Package], os: str, db: VulnDB) -> list[Finding]:
        """Findings for these language packages."""
        return match_with(self, packages, os, db)


MATCHERS.register(LanguageMatcher.id, LanguageMatcher())
