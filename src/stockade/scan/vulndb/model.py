"""Advisories as every loader produces them: OSV's shape, made into typed values."""

from __future__ import annotations

import msgspec

from stockade.model.inventory import Severity


class RangeEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One OSV range event; exactly one field is set."""

    introduced: str = ""
    fixed: str = ""
    last_affected: str = ""
    limit: str = ""


class AffectedRange(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A version range: OSV events (ECOSYSTEM, SEMVER) or an npm range expression (NPM)."""

    type: str
    events: tuple[RangeEvent, ...] = ()
    expression: str = ""  # NPM: the vulnerable versions
    fixed_expression: str = ""  # NPM: the patched versions


class Affected(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The versions of one package in one ecosystem that an advisory affects."""

    ecosystem: str  # OSV ecosystem name with its release, e.g. "PyPI", "Debian:12"
    name: str
    ranges: tuple[AffectedRange, ...] = ()
    versions: tuple[str, ...] = ()
    severity: Severity = Severity.UNKNOWN  # the source's own rating for this package
    status: str = ""  # source-specific state, e.g. Debian tracker "open", "undetermined"


class Advisory(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One vulnerability record from one source."""

    id: str
    source: str  # the format that produced it: osv, debian-tracker, alpine-secdb, nodejs-wg
    aliases: tuple[str, ...] = ()
    summary: str = ""
    details: str = ""
    severity: Severity = Severity.UNKNOWN
    cvss_score: float = 0.0
    cvss_vector: str = ""
    references: tuple[str, ...] = ()
    published: str = ""
    modified: str = ""
    affected: tuple[Affected, ...] = ()
