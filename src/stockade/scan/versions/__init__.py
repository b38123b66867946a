"""Version schemes, one per ecosystem, and the ecosystem -> scheme map."""

from __future__ import annotations

from stockade.scan.versions import apk, debian, golang, maven, pep440, rpm, semver
from stockade.scan.versions.base import SCHEMES, VersionError, VersionScheme
from stockade.scan.versions.npm_range import NpmRange
from stockade.scan.versions.semver import SemVer

__all__ = [
    "SCHEMES",
    "NpmRange",
    "SemVer",
    "VersionError",
    "VersionScheme",
    "scheme_for",
    "scheme_name_for",
]

_MODULES = (apk, debian, golang, maven, pep440, rpm, semver)  # imported to register

# OSV ecosystem names (the part before ":") -> scheme id
_BY_ECOSYSTEM = {
    "PyPI": "pep440",
    "npm": "semver",
    "Go": "go",
    "Debian": "debian",
    "Ubuntu": "debian",
    "Alpine": "apk",
    "Maven": "maven",
    "RPM": "rpm",
    "Red Hat": "rpm",
    "Rocky Linux": "rpm",
    "AlmaLinux": "rpm",
    "SUSE": "rpm",
    "openSUSE": "rpm",
    "Mageia": "rpm",
    "crates.io": "semver",
    "Hex": "semver",
    "Pub": "semver",
}


def scheme_name_for(ecosystem: str) -> str:
    """The scheme id for an OSV ecosystem name such as "PyPI" or "Debian:12"."""
    base = ecosystem.split(":", 1)[0]
    try:
        return _BY_ECOSYSTEM[base]
    except KeyError:
        raise VersionError(f"no version scheme for ecosystem {ecosystem!r}") from None


def scheme_for(ecosystem: str) -> VersionScheme:
    """The version scheme that orders versions of `ecosystem`."""
    return SCHEMES.get(scheme_name_for(ecosystem))
