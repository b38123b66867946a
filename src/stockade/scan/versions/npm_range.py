"""npm's range syntax (`>=1.2.0 <1.4.2 || ^2.0.0`, `~1.2`, `1.x`, `1.2 - 1.4`, `*`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stockade.scan.versions.base import VersionError
from stockade.scan.versions.semver import SemVer

_PARTIAL = re.compile(
    r"^[v=]*(?P<major>\d+|[xX*])(?:\.(?P<minor>\d+|[xX*])(?:\.(?P<patch>\d+|[xX*])"
    r"(?:-?(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?)?)?$"
)
_OP_SPACE = re.compile(r"(<=|>=|<|>|=|~>|~|\^)\s+")
_HYPHEN = re.compile(r"^\s*(\S+)\s+-\s+(\S+)\s*$")
_OP = re.compile(r"^(<=|>=|<|>|=|~>|~|\^)?(.*)$")


@dataclass(frozen=True, slots=True)
class Comparator:
    """One primitive comparison: op in <, <=, >, >=, = against a version."""

    op: str
    version: SemVer

    def test(self, v: SemVer) -> bool:
        """True when `v` satisfies this comparison."""
        c = v.compare(self.version)
        return {"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0, "=": c == 0}[self.op]


@dataclass(frozen=True, slots=True)
class _Partial:
    major: int | None
    minor: int | None
    patch: int | None
    pre: tuple[str, ...]


def _partial(text: str) -> _Partial:
    if text in ("", "*", "x", "X"):
        return _Partial(None, None, None, ())
    m = _PARTIAL.match(text)
    if m is None:
        raise VersionError(f"bad version in npm range: {text!r}")

    def num(key: str) -> int | None:
        value = m[key]
        return None if value is None or value in "xX*" else int(value)

    major, minor, patch = num("major"), num("minor"), num("patch")
    if major is None:
        minor = patch = None
    elif minor is None:
        patch = None
    pre = tuple(m["pre"].split(".")) if m["pre"] and patch is not None else ()
    return _Partial(major, minor, patch, pre)


def _v(major: int, minor: int = 0, patch: int = 0, pre: tuple[str, ...] = ()) -> SemVer:
    return SemVer(major, minor, patch, pre)


def _floor(p: _Partial) -> SemVer:
    return _v(p.major or 0, p.minor or 0, p.patch or 0, p.pre)


def _next_up(p: _Partial) -> SemVer:
    """The first version past what the partial names (`1` -> 2.0.0-0, `1.2` -> 1.3.0-0)."""
    assert p.major is not None
    if p.minor is None:
        return _v(p.major + 1, 0, 0, ("0",))
    return _v(p.major, p.minor + 1, 0, ("0",))


def _desugar(op: str, p: _Partial) -> list[Comparator]:
    if p.major is None:  # *, x: any version; >* and <* match nothing
        return [Comparator("<", _v(0, 0, 0, ("0",)))] if op in ("<", ">") else []
    full = p.patch is not None
    if op in ("", "="):
        if full:
            return [Comparator("=", _floor(p))]
        return [Comparator(">=", _floor(p)), Comparator("<", _next_up(p))]
    if op in ("~", "~>"):
        upper = _next_up(_Partial(p.major, p.minor, None, ()))
        return [Comparator(">=", _floor(p)), Comparator("<", upper)]
    if op == "^":
        return [Comparator(">=", _floor(p)), Comparator("<", _caret_upper(p))]
    if op == ">":
        return [Comparator(">", _floor(p))] if full else [Comparator(">=", _next_up(p))]
    if op == "<=":
        return [Comparator("<=", _floor(p))] if full else [Comparator("<", _next_up(p))]
    if op == "<":
        return [Comparator("<", _floor(p) if full else _v(*_floor(p).release, ("0",)))]
    return [Comparator(">=", _floor(p))]  # >=


def _caret_upper(p: _Partial) -> SemVer:
    assert p.major is not None
    if p.major > 0 or p.minor is None:
        return _v(p.major + 1, 0, 0, ("0",))
    if p.minor > 0 or p.patch is None:
        return _v(0, p.minor + 1, 0, ("0",))
    return _v(0, 0, p.patch + 1, ("0",))


def _hyphen(low: str, high: str) -> list[Comparator]:
    lo, hi = _partial(low), _partial(high)
    out = [] if lo.major is None else [Comparator(">=", _floor(lo))]
    if hi.major is not None:
        out.append(
            Comparator("<=", _floor(hi)) if hi.patch is not None else Comparator("<", _next_up(hi))
        )
    return out


def _parse_set(text: str) -> tuple[Comparator, ...]:
    hyphen = _HYPHEN.match(text)
    if hyphen:
        return tuple(_hyphen(hyphen[1], hyphen[2]))
    out: list[Comparator] = []
    for word in _OP_SPACE.sub(r"\1", text).split():
        m = _OP.match(word)
        assert m is not None
        out.extend(_desugar(m[1] or "", _partial(m[2])))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class NpmRange:
    """A parsed npm range: satisfied when any of its comparator sets is."""

    sets: tuple[tuple[Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> NpmRange:
        """Parse an npm range expression; VersionError when it is malformed."""
        return cls(tuple(_parse_set(part.strip()) for part in text.split("||")))

    def satisfied_by(self, version: SemVer | str) -> bool:
        """npm's `satisfies`: pre-releases match only a set naming the same major.minor.patch."""
        v = SemVer.parse(version) if isinstance(version, str) else version
        return any(_set_allows(comparators, v) for comparators in self.sets)

    def lower_bounds(self) -> list[SemVer]:
        """The lowest version each comparator set admits (0.0.0 when unbounded below)."""
        out = []
        for comparators in self.sets:
            lows = [c.version for c in comparators if c.op in (">=", ">", "=")]
            out.append(max(lows, key=_sort_key) if lows else _v(0))
        return out


def _sort_key(v: SemVer) -> tuple[tuple[int, int, int], int, tuple[tuple[int, int, str], ...]]:
    pre = tuple((0, int(x), "") if x.isdigit() else (1, 0, x) for x in v.prerelease)
    return (v.release, 0 if v.prerelease else 1, pre)


def _set_allows(comparators: tuple[Comparator, ...], v: SemVer) -> bool:
    if not all(c.test(v) for c in comparators):
        return False
    if not v.prerelease:
        return True
    return any(c.version.prerelease and c.version.release == v.release for c in comparators)
