"""Go module versions: semver with `v`, `+incompatible` and pseudo-versions."""

from __future__ import annotations

import re

from stockade.scan.versions.base import SCHEMES, VersionError, VersionScheme
from stockade.scan.versions.semver import SemVer

# toolchain spellings: go1.20, go1.21.0, go1.21rc2, go1.9beta1 (semver: 1.21.0-rc.2)
_TOOLCHAIN = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?$")


def parse_go(version: str) -> SemVer:
    """Parse a Go module or toolchain version; `+incompatible` is build metadata, not order."""
    text = version.strip()
    for prefix in ("go", "v"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    toolchain = _TOOLCHAIN.match(text)
    if toolchain:
        major, minor, patch, kind, number = toolchain.groups()
        text = f"{major}.{minor}.{patch or 0}" + (f"-{kind}.{number}" if kind else "")
    try:
        return SemVer.parse(text)
    except VersionError as e:
        raise VersionError(f"not a Go module version: {version!r}") from e


class GoScheme(VersionScheme):
    """Go's ordering: pseudo-versions are pre-releases and sort as such."""

    name = "go"

    def compare(self, a: str, b: str) -> int:
        """Compare two Go module versions."""
        return parse_go(a).compare(parse_go(b))


SCHEMES.register("go", GoScheme())
