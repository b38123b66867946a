"""Debian package versions (epoch:upstream-revision, `~` before anything) as dpkg orders them."""

from __future__ import annotations

from debian.debian_support import Version

from stockade.scan.versions.base import SCHEMES, VersionError, VersionScheme, sign


class DebianScheme(VersionScheme):
    """dpkg's ordering, through python-debian's implementation of it."""

    name = "debian"

    def compare(self, a: str, b: str) -> int:
        """Compare two Debian versions."""
        try:
            left, right = Version(a.strip()), Version(b.strip())
        except ValueError as e:
            raise VersionError(f"not a Debian version: {a!r} or {b!r}") from e
        return sign((left > right) - (left < right))


SCHEMES.register("debian", DebianScheme())
