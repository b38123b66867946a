"""Maven versions: the basics of Maven's ComparableVersion."""

from __future__ import annotations

import re

from stockade.scan.versions.base import SCHEMES, VersionError, VersionScheme

_QUALIFIERS = {"alpha": 0, "beta": 1, "milestone": 2, "rc": 3, "snapshot": 4, "": 5, "sp": 6}
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_SHORT = {"a": "alpha", "b": "beta", "m": "milestone"}
_ITEM = re.compile(r"\d+|[a-z]+")

Item = int | tuple[int, str]  # a number, or (qualifier rank, unknown qualifier text)


def _qualifier(word: str, followed_by_digit: bool) -> tuple[int, str]:
    if followed_by_digit and word in _SHORT:
        word = _SHORT[word]
    word = _ALIASES.get(word, word)
    if word in _QUALIFIERS:
        return (_QUALIFIERS[word], "")
    return (len(_QUALIFIERS), word)  # unknown qualifiers sort after known ones, by text


def items(version: str) -> list[Item]:
    """The comparable items of `version`, trailing zeros and release markers trimmed."""
    text = version.strip().lower()
    if not text or not _ITEM.search(text):
        raise VersionError(f"not a Maven version: {version!r}")
    parts = list(_ITEM.finditer(text))
    out: list[Item] = []
    for idx, m in enumerate(parts):
        word = m.group()
        if word.isdigit():
            out.append(int(word))
        else:
            nxt = parts[idx + 1] if idx + 1 < len(parts) else None
            digit_next = nxt is not None and nxt.start() == m.end() and nxt.group().isdigit()
            out.append(_qualifier(word, digit_next))
    while out and out[-1] in (0, (_QUALIFIERS[""], "")):
        out.pop()
    return out


def _item_cmp(a: Item | None, b: Item | None) -> int:
    if a is None and b is None:
        return 0
    if isinstance(a, int) or isinstance(b, int):
        if not isinstance(b, int):  # a number beats any qualifier; a missing item is 0
            return 1 if b is not None else (a > 0) - (a < 0)  # type: ignore[operator]
        if not isinstance(a, int):
            return -1 if a is not None else -((b > 0) - (b < 0))
        return (a > b) - (a < b)
    release = (_QUALIFIERS[""], "")
    qa, qb = a or release, b or release
    return (qa > qb) - (qa < qb)


def maven_compare(a: str, b: str) -> int:
    """-1, 0 or 1 in Maven's order (1.0-alpha < 1.0-rc < 1.0-SNAPSHOT < 1.0 < 1.0-sp < 1.0.1)."""
    ia, ib = items(a), items(b)
    for idx in range(max(len(ia), len(ib))):
        result = _item_cmp(ia[idx] if idx < len(ia) else None, ib[idx] if idx < len(ib) else None)
        if result:
            return result
    return 0


class MavenScheme(VersionScheme):
    """Maven's ordering (basics)."""

    name = "maven"

    def compare(self, a: str, b: str) -> int:
        """Compare two Maven versions."""
        return maven_compare(a, b)


SCHEMES.register("maven", MavenScheme())
