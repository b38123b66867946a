"""Alpine package versions as apk-tools orders them (letters, _suffixes, -rN)."""

from __future__ import annotations

import enum
import re

from stockade.scan.versions.base import SCHEMES, VersionError, VersionScheme


class _Tok(enum.IntEnum):
    # apk-tools' token order: where two versions diverge in kind, the lower kind is newer
    DIGIT = 1
    LETTER = 2
    SUFFIX = 3
    SUFFIX_NO = 4
    REVISION = 5
    END = 6


_PRE = ("alpha", "beta", "pre", "rc")
_POST = ("cvs", "svn", "git", "hg", "p")
_SUFFIX_RANK = {name: i - len(_PRE) for i, name in enumerate(_PRE)} | {
    name: i + 1 for i, name in enumerate(_POST)
}
_TOKEN = re.compile(
    r"(?P<first>\d+)|\.(?P<digit>\d+)|(?P<letter>[a-z])|_(?P<suffix>[a-z]+)(?P<sufno>\d*)"
    r"|~(?P<hash>[0-9a-f]+)|-r(?P<rev>\d+)"
)

Token = tuple[_Tok, int | str]


def tokens(version: str) -> list[Token]:
    """The apk token sequence of `version`; VersionError when it is not apk syntax."""
    out: list[Token] = []
    pos = 0
    while pos < len(version):
        m = _TOKEN.match(version, pos)
        if m is None or (pos == 0) != (m["first"] is not None):
            raise VersionError(f"not an apk version: {version!r}")
        pos = m.end()
        if m["first"] is not None or m["digit"] is not None:
            out.append((_Tok.DIGIT, m["first"] or m["digit"]))
        elif m["letter"]:
            out.append((_Tok.LETTER, ord(m["letter"])))
        elif m["suffix"]:
            if m["suffix"] not in _SUFFIX_RANK:
                raise VersionError(f"unknown apk suffix _{m['suffix']} in {version!r}")
            out.append((_Tok.SUFFIX, _SUFFIX_RANK[m["suffix"]]))
            if m["sufno"]:
                out.append((_Tok.SUFFIX_NO, int(m["sufno"])))
        elif m["rev"] is not None:
            out.append((_Tok.REVISION, int(m["rev"])))
    if not out:
        raise VersionError("empty apk version")
    return out


def _value_cmp(kind: _Tok, a: int | str, b: int | str, first: bool) -> int:
    if kind is _Tok.DIGIT and isinstance(a, str) and isinstance(b, str):
        if not first and (a.startswith("0") or b.startswith("0")):
            # apk compares a fractional part with a leading zero as text
            return (a > b) - (a < b)
        return (int(a) > int(b)) - (int(a) < int(b))
    return (a > b) - (a < b)  # type: ignore[operator]


def apk_compare(a: str, b: str) -> int:
    """-1, 0 or 1: apk-tools' `apk_version_compare`."""
    ta, tb = tokens(a), tokens(b)
    for idx in range(max(len(ta), len(tb))):
        ka, va = ta[idx] if idx < len(ta) else (_Tok.END, 0)
        kb, vb = tb[idx] if idx < len(tb) else (_Tok.END, 0)
        if ka is _Tok.END and kb is _Tok.END:
            return 0
        if ka == kb:
            result = _value_cmp(ka, va, vb, idx == 0)
            if result:
                return result
            continue
        # kinds diverge: a pre-release suffix is older than anything; else lower kind is newer
        if ka is _Tok.SUFFIX and isinstance(va, int) and va < 0:
            return -1
        if kb is _Tok.SUFFIX and isinstance(vb, int) and vb < 0:
            return 1
        return -1 if ka > kb else 1
    return 0


class ApkScheme(VersionScheme):
    """Alpine's ordering."""

    name = "apk"

    def compare(self, a: str, b: str) -> int:
        """Compare two apk versions."""
        return apk_compare(a.strip(), b.strip())


SCHEMES.register("apk", ApkScheme())
