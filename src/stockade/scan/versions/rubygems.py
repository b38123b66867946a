"""RubyGems versions as Gem::Version orders them (prereleases before their release)."""

from __future__ import annotations

import re

from stockade.scan.versions.base import SCHEMES, VersionError, VersionScheme

_VALID = re.compile(r"[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")
_SEGMENT = re.compile(r"[0-9]+|[a-zA-Z]+")

Segment = int | str


def _trimmed(segments: list[Segment]) -> list[Segment]:
    while segments and segments[-1] == 0:
        segments.pop()
    return segments


def canonical_segments(version: str) -> list[Segment]:
    """Gem::Version#canonical_segments: numbers and words, zeros trimmed before each part."""
    text = version.strip()
    if not _VALID.fullmatch(text):
        raise VersionError(f"not a RubyGems version: {version!r}")
    text = text.replace("-", ".pre.")  # how Gem::Version reads "1.0-beta"
    segments: list[Segment] = [
        int(s) if s.isdigit() else s for s in _SEGMENT.findall(text)
    ]  # fmt: skip
    first_word = next((i for i, s in enumerate(segments) if isinstance(s, str)), len(segments))
    return _trimmed(segments[:first_word]) + _trimmed(segments[first_word:])


def _compare_segments(left: list[Segment], right: list[Segment]) -> int:
    for index in range(max(len(left), len(right))):
        a = left[index] if index < len(left) else 0
        b = right[index] if index < len(right) else 0
        if a == b:
            continue
        if isinstance(a, int) and isinstance(b, int):
            return -1 if a < b else 1
        if isinstance(a, str) and isinstance(b, str):
            return -1 if a < b else 1
        return -1 if isinstance(a, str) else 1  # a word (prerelease) sorts before a number
    return 0


class RubyGemsScheme(VersionScheme):
    """Gem::Version's <=>: segment by segment, a word sorts before any number."""

    name = "rubygems"

    def compare(self, a: str, b: str) -> int:
        """Compare two gem versions."""
        return _compare_segments(canonical_segments(a), canonical_segments(b))


SCHEMES.register("rubygems", RubyGemsScheme())
