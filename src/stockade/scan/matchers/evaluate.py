"""Whether one installed version falls in an advisory's affected entry, per OSV's semantics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cmp_to_key

from stockade.scan.versions import SCHEMES, NpmRange, VersionError, VersionScheme
from stockade.scan.versions import scheme_for as _scheme_for
from stockade.scan.versions.semver import SemVer
from stockade.scan.vulndb.model import Affected, AffectedRange, RangeEvent


@dataclass(frozen=True, slots=True)
class Verdict:
    """The installed version is affected; `fixed` is the first fixed version past it, or ""."""

    fixed: str = ""


def _event_version(event: RangeEvent) -> str:
    return event.introduced or event.fixed or event.last_affected or event.limit


def _sorted_events(events: tuple[RangeEvent, ...], scheme: VersionScheme) -> list[RangeEvent]:
    def cmp(a: RangeEvent, b: RangeEvent) -> int:
        va, vb = _event_version(a), _event_version(b)
        if va == "0" or vb == "0":  # introduced "0" stands for "before every version"
            return (va != "0") - (vb != "0")
        return scheme.compare(va, vb)

    return sorted(events, key=cmp_to_key(cmp))


def in_event_range(rng: AffectedRange, version: str, scheme: VersionScheme) -> Verdict | None:
    """OSV's evaluation of an ECOSYSTEM or SEMVER range; VersionError on unparsable input."""
    limits = [e.limit for e in rng.events if e.limit]
    if limits and not any(scheme.compare(version, lim) < 0 for lim in limits):
        return None
    affected = False
    for event in _sorted_events(tuple(e for e in rng.events if not e.limit), scheme):
        if event.introduced:
            if event.introduced == "0" or scheme.compare(version, event.introduced) >= 0:
                affected = True
        elif event.fixed:
            if scheme.compare(version, event.fixed) >= 0:
                affected = False
        elif event.last_affected and scheme.compare(version, event.last_affected) > 0:
            affected = False
    if not affected:
        return None
    later = [e.fixed for e in rng.events if e.fixed and scheme.compare(e.fixed, version) > 0]
    later.sort(key=cmp_to_key(scheme.compare))
    return Verdict(fixed=later[0] if later else "")


def in_npm_range(rng: AffectedRange, version: str) -> Verdict | None:
    """An npm-range entry: affected when `expression` is satisfied; fix from the patched range."""
    installed = SemVer.parse(version)
    if not NpmRange.parse(rng.expression or "*").satisfied_by(installed):
        return None
    if not rng.fixed_expression:
        return Verdict()
    patched = NpmRange.parse(rng.fixed_expression)
    lows = [
        v for v in patched.lower_bounds() if v.compare(installed) > 0 and patched.satisfied_by(v)
    ]
    return Verdict(fixed=str(min(lows, key=cmp_to_key(SemVer.compare))) if lows else "")


def _listed(affected: Affected, version: str, scheme: VersionScheme) -> bool:
    for listed in affected.versions:
        if listed == version:
            return True
        try:
            if scheme.compare(listed, version) == 0:
                return True
        except VersionError:
            continue
    return False


def evaluate(
    affected: Affected, version: str, scheme: VersionScheme | None = None
) -> Verdict | None:
    """A Verdict when `version` is affected by any range or listed version, else None."""
    scheme = scheme or _scheme_for(affected.ecosystem)
    hits: list[Verdict] = []
    for rng in affected.ranges:
        try:
            if rng.type == "NPM":
                verdict = in_npm_range(rng, version)
            else:
                rng_scheme = scheme
                if rng.type == "SEMVER" and scheme.name not in ("semver", "go"):
                    rng_scheme = SCHEMES.get("semver")
                verdict = in_event_range(rng, version, rng_scheme)
        except VersionError:
            continue  # a range we cannot order says nothing about this version
        if verdict is not None:
            hits.append(verdict)
    if not hits and _listed(affected, version, scheme):
        hits.append(Verdict())
    if not hits:
        return None
    fixes = [h.fixed for h in hits if h.fixed]
    return Verdict(fixed=min(fixes, key=cmp_to_key(_safe_compare(scheme))) if fixes else "")


def _safe_compare(scheme: VersionScheme) -> Callable[[str, str], int]:
    def cmp(a: str, b: str) -> int:
        try:
            return scheme.compare(a, b)
        except VersionError:
            return (a > b) - (a < b)

    return cmp
