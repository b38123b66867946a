"""Python package versions per PEP 440."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from stockade.scan.versions.base import SCHEMES, VersionError, VersionScheme


class Pep440Scheme(VersionScheme):
    """PEP 440 ordering through `packaging.version`."""

    name = "pep440"

    def compare(self, a: str, b: str) -> int:
        """Compare two PEP 440 versions."""
        try:
            left, right = Version(a), Version(b)
        except InvalidVersion as e:
            raise VersionError(str(e)) from e
        return (left > right) - (left < right)


SCHEMES.register("pep440", Pep440Scheme())
