"""RPM versions: [epoch:]version[-release] ordered by rpmvercmp (`~` and `^` included)."""

from __future__ import annotations

from stockade.scan.versions.base import SCHEMES, VersionError, VersionScheme


def _skip_separators(s: str, i: int) -> int:
    while i < len(s) and not s[i].isalnum() and s[i] not in "~^":
        i += 1
    return i


def _segment(s: str, i: int, digits: bool) -> int:
    test = str.isdigit if digits else str.isalpha
    while i < len(s) and s[i].isascii() and test(s[i]):
        i += 1
    return i


def rpmvercmp(a: str, b: str) -> int:
    """rpm's segment-wise comparison of one version or release string."""
    if a == b:
        return 0
    i = j = 0
    while i < len(a) or j < len(b):
        i, j = _skip_separators(a, i), _skip_separators(b, j)
        ca, cb = a[i : i + 1], b[j : j + 1]
        if ca == "~" or cb == "~":  # tilde sorts before everything, even the end
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        if ca == "^" or cb == "^":  # caret sorts after the end, before anything else
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if not (ca and cb):
            break
        numeric = ca.isdigit()
        ei, ej = _segment(a, i, numeric), _segment(b, j, numeric)
        sa, sb = a[i:ei], b[j:ej]
        if not sb:  # segments of different kinds: a number beats letters
            return 1 if numeric else -1
        if numeric:
            sa, sb = sa.lstrip("0"), sb.lstrip("0")
            if len(sa) != len(sb):
                return 1 if len(sa) > len(sb) else -1
        if sa != sb:
            return 1 if sa > sb else -1
        i, j = ei, ej
    if i >= len(a) and j >= len(b):
        return 0
    return -1 if i >= len(a) else 1


def split_evr(evr: str) -> tuple[int, str, str]:
    """(epoch, version, release) of `[epoch:]version[-release]`."""
    text = evr.strip()
    if not text:
        raise VersionError("empty RPM version")
    epoch = 0
    if ":" in text:
        head, text = text.split(":", 1)
        if not head.isdigit():
            raise VersionError(f"bad RPM epoch in {evr!r}")
        epoch = int(head)
    version, _, release = text.rpartition("-") if "-" in text else (text, "", "")
    return epoch, version, release


class RpmScheme(VersionScheme):
    """RPM's EVR ordering."""

    name = "rpm"

    def compare(self, a: str, b: str) -> int:
        """Compare two RPM [epoch:]version[-release] strings."""
        ea, va, ra = split_evr(a)
        eb, vb, rb = split_evr(b)
        if ea != eb:
            return -1 if ea < eb else 1
        return rpmvercmp(va, vb) or rpmvercmp(ra, rb)


SCHEMES.register("rpm", RpmScheme())
