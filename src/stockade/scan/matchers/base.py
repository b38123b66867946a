"""The `Matcher` interface: one per ecosystem, turning packages into vulnerability findings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from stockade.model.inventory import Finding, Package
from stockade.registry import Registry
from stockade.scan.errors import ScanError
from stockade.scan.vulndb import VulnDB


class MatchError(ScanError):
    """Base of the matchers' errors."""


@dataclass(frozen=True, slots=True)
class Lookup:
    """How a package is looked up: database ecosystem key, name and version to compare."""

    ecosystem: str
    name: str
    version: str


class Matcher(ABC):
    """Finds the advisories in a VulnDB that affect packages; the ecosystem table names it."""

    id: str

    @abstractmethod
    def lookup(self, package: Package, os: str) -> Lookup | None:
        """Where to look `package` up; None when it cannot be matched (e.g. unknown release)."""

    @abstractmethod
    def match(self, packages: list[Package], os: str, db: VulnDB) -> list[Finding]:
        """The findings for `packages` (all of ecosystems the table gives this matcher)."""


MATCHERS: Registry[Matcher] = Registry("matcher")
