"""The `VersionScheme` interface: how one ecosystem orders its version strings."""

from __future__ import annotations

from abc import ABC, abstractmethod

from stockade.registry import Registry
from stockade.scan.errors import ScanError


class VersionError(ScanError, ValueError):
    """A version string that the scheme cannot parse."""


class VersionScheme(ABC):
    """Orders the version strings of one ecosystem."""

    name: str

    @abstractmethod
    def compare(self, a: str, b: str) -> int:
        """-1, 0 or 1 as `a` sorts before, equal to or after `b`; VersionError if unparsable."""

    def valid(self, version: str) -> bool:
        """True when `version` parses in this scheme."""
        try:
            self.compare(version, version)
        except VersionError:
            return False
        return True


def sign(value: int) -> int:
    """-1, 0 or 1 by the sign of `value`."""
    return (value > 0) - (value < 0)


SCHEMES: Registry[VersionScheme] = Registry("version scheme")
