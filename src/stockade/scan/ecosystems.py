"""The package ecosystems: one row each, read by analyzers, purls, matchers and writers.

A row says how an ecosystem's versions are ordered (a `VersionScheme` id), its purl type,
how a name splits into a purl namespace (the SBOM group) and a name, how its registry
compares names, which `Matcher` looks its packages up, and under which OSV ecosystem
names its advisories are filed. Adding an ecosystem means adding a row here; a test holds
every ecosystem an analyzer declares to a complete row.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import msgspec

from stockade.model.inventory import Ecosystem
from stockade.scan.errors import ScanError

_PEP503 = re.compile(r"[-_.]+")


def pep503(name: str) -> str:
    """A PyPI name as PyPI compares names: lowercase, runs of -_. as one "-"."""
    return _PEP503.sub("-", name).lower()


def as_written(name: str) -> str:
    """A name compared exactly as written (Go module paths, Maven coordinates, gems)."""
    return name


class EcosystemSpec(msgspec.Struct, frozen=True):
    """Everything that differs between package ecosystems, in one row."""

    scheme: str  # id of the VersionScheme that orders its versions
    purl_type: str  # the purl spec's type
    matcher: str  # id of the Matcher that looks its packages up
    advisory_names: tuple[str, ...]  # OSV ecosystem names (before ":") its advisories use
    normalise: Callable[[str], str] = as_written  # names as its registry compares them
    namespace_separator: str = ""  # splits "ns<sep>name" into purl namespace and name
    os_packages: bool = False  # installed by the distro: purl namespace is the distro
    default_namespace: str = ""  # purl namespace when the distro is unknown


ECOSYSTEMS: dict[Ecosystem, EcosystemSpec] = {
    Ecosystem.DEBIAN: EcosystemSpec(
        scheme="debian",
        purl_type="deb",
        matcher="debian",
        advisory_names=("Debian", "Ubuntu"),
        normalise=str.lower,
        os_packages=True,
        default_namespace="debian",
    ),
    Ecosystem.ALPINE: EcosystemSpec(
        scheme="apk",
        purl_type="apk",
        matcher="alpine",
        advisory_names=("Alpine",),
        normalise=str.lower,
        os_packages=True,
        default_namespace="alpine",
    ),
    Ecosystem.RPM: EcosystemSpec(
        scheme="rpm",
        purl_type="rpm",
        matcher="rpm",
        advisory_names=(
            "RPM",
            "Red Hat",
            "Rocky Linux",
            "AlmaLinux",
            "SUSE",
            "openSUSE",
            "Mageia",
        ),  # fmt: skip
        os_packages=True,  # names as written: rpm compares them case-sensitively
    ),
    Ecosystem.PYPI: EcosystemSpec(
        scheme="pep440",
        purl_type="pypi",
        matcher="language",
        advisory_names=("PyPI",),
        normalise=pep503,
    ),
    Ecosystem.NPM: EcosystemSpec(
        scheme="semver",
        purl_type="npm",
        matcher="language",
        advisory_names=("npm",),
        normalise=str.lower,
        namespace_separator="/",  # @scope/name
    ),
    Ecosystem.GO: EcosystemSpec(
        scheme="go",
        purl_type="golang",
        matcher="language",
        advisory_names=("Go",),
        namespace_separator="/",  # github.com/org/module
    ),
    Ecosystem.MAVEN: EcosystemSpec(
        scheme="maven",
        purl_type="maven",
        matcher="language",
        advisory_names=("Maven",),
        namespace_separator=":",  # group:artifact
    ),
    Ecosystem.RUBYGEMS: EcosystemSpec(
        scheme="rubygems",
        purl_type="gem",
        matcher="language",
        advisory_names=("RubyGems",),
    ),
}

_BY_ADVISORY_NAME = {
    name: spec for spec in ECOSYSTEMS.values() for name in spec.advisory_names
}  # fmt: skip


class UnknownEcosystemError(ScanError):
    """An ecosystem name no row of the table claims."""


def spec_of(ecosystem: Ecosystem) -> EcosystemSpec:
    """The table's row for `ecosystem`."""
    return ECOSYSTEMS[ecosystem]


def spec_for_advisories(name: str) -> EcosystemSpec:
    """The row whose advisories are filed under an OSV name such as "PyPI" or "Debian:12"."""
    try:
        return _BY_ADVISORY_NAME[name.split(":", 1)[0]]
    except KeyError:
        raise UnknownEcosystemError(f"no ecosystem files advisories as {name!r}") from None


def split_name(ecosystem: Ecosystem, name: str) -> tuple[str, str]:
    """(namespace, name) of a package name: "@types/node" -> ("@types", "node")."""
    separator = ECOSYSTEMS[ecosystem].namespace_separator
    if separator and separator in name:
        namespace, _, rest = name.rpartition(separator)
        return namespace, rest
    return "", name
