"""Version schemes, one per ecosystem; the ecosystem table says which orders which."""

from __future__ import annotations

from stockade.scan.ecosystems import UnknownEcosystemError, spec_for_advisories
from stockade.scan.versions.base import SCHEMES, VersionError, VersionScheme
from stockade.scan.versions.npm_range import NpmRange

__all__ = [
    "SCHEMES",
    "NpmRange",
    "VersionError",
    "VersionScheme",
    "scheme_for",
    "scheme_name_for",
]


def scheme_name_for(ecosystem: str) -> str:
    """The scheme id for an OSV ecosystem name such as "PyPI" or "Debian:12"."""
    try:
        return spec_for_advisories(ecosystem).scheme
    except UnknownEcosystemError:
        raise VersionError(f"no version scheme for ecosystem {ecosystem!r}") from None


def scheme_for(ecosystem: str) -> VersionScheme:
    """The version scheme that orders versions of `ecosystem`."""
    return SCHEMES.get(scheme_name_for(ecosystem))
