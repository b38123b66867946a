"""Semantic Versioning 2.0 (npm, OSV `SEMVER` ranges): parse and order."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stockade.scan.versions.base import SCHEMES, VersionError, VersionScheme

_SEMVER = re.compile(
    r"^\s*[v=]*\s*(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?\s*$"
)


@dataclass(frozen=True, slots=True)
class SemVer:
    """A parsed semantic version; build metadata is kept but never ordered."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = ""

    @classmethod
    def parse(cls, text: str) -> SemVer:
        """Parse `1.2.3-pre.1+build` (a leading `v` or `=` is tolerated, as npm does)."""
        m = _SEMVER.match(text)
        if m is None:
            raise VersionError(f"not a semantic version: {text!r}")
        pre = tuple(m["pre"].split(".")) if m["pre"] else ()
        return cls(int(m["major"]), int(m["minor"]), int(m["patch"]), pre, m["build"] or "")

    @property
    def release(self) -> tuple[int, int, int]:
        """(major, minor, patch)."""
        return (self.major, self.minor, self.patch)

    def compare(self, other: SemVer) -> int:
        """-1, 0 or 1 per SemVer 2.0 precedence."""
        if self.release != other.release:
            return -1 if self.release < other.release else 1
        return _compare_prerelease(self.prerelease, other.prerelease)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        return text


def _compare_prerelease(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    if a == b:
        return 0
    if not a or not b:  # a release sorts after its pre-releases
        return 1 if not a else -1
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        xn, yn = x.isdigit(), y.isdigit()
        if xn and yn:
            return -1 if int(x) < int(y) else 1
        if xn != yn:  # numeric identifiers sort before alphanumeric ones
            return -1 if xn else 1
        return -1 if x < y else 1
    return -1 if len(a) < len(b) else 1


class SemverScheme(VersionScheme):
    """SemVer 2.0 ordering."""

    name = "semver"

    def compare(self, a: str, b: str) -> int:
        """Compare two semantic versions."""
        return SemVer.parse(a).compare(SemVer.parse(b))


SCHEMES.register("semver", SemverScheme())
