"""Go module versions: semver with `v`, `+incompatible` and pseudo-versions."""

from __future__ import annotations

from stockade.scan.versions.base import SCHEMES, VersionError, VersionScheme
from stockade.scan.versions.semver import SemVer


def parse_go(version: str) -> SemVer:
    """Parse a Go module version; `+incompatible` is build metadata and does not order."""
    text = version.strip()
    if text.startswith("v"):
        text = text[1:]
    if text.count(".") == 1 and "-" not in text:  # Go accepts the v1.2 shorthand
        text += ".0"
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
