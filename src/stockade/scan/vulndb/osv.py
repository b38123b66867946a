"""OSV records (JSON or YAML, any ecosystem) per the OSV schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stockade.model.inventory import Severity
from stockade.scan.vulndb.formats import FORMATS, AdvisoryFormat, FormatError
from stockade.scan.vulndb.model import Advisory, Affected, AffectedRange, RangeEvent
from stockade.scan.vulndb.severity import base_score, from_rating, from_score

_EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
_CVSS_PREFERENCE = ("CVSS_V3", "CVSS_V4", "CVSS_V2")  # v3 first: what most sources rate by


def _events(raw: list[dict[str, Any]]) -> tuple[RangeEvent, ...]:
    out = []
    for event in raw:
        kind = next((k for k in _EVENT_KINDS if k in event), None)
        if kind is None:
            raise FormatError(f"range event without a known kind: {event!r}")
        out.append(RangeEvent(**{kind: str(event[kind])}))
    return tuple(out)


def _affected(raw: dict[str, Any]) -> Affected | None:
    package = raw.get("package") or {}
    if not package.get("ecosystem") or not package.get("name"):
        return None
    ranges = tuple(
        AffectedRange(type=r["type"], events=_events(r.get("events", [])))
        for r in raw.get("ranges", [])
        if r.get("type") in ("ECOSYSTEM", "SEMVER")  # GIT ranges name commits, not versions
    )
    specific = {**(raw.get("database_specific") or {}), **(raw.get("ecosystem_specific") or {})}
    rating = specific.get("severity")
    return Affected(
        ecosystem=str(package["ecosystem"]),
        name=str(package["name"]),
        ranges=ranges,
        versions=tuple(str(v) for v in raw.get("versions") or ()),
        severity=from_rating(rating) if isinstance(rating, str) else Severity.UNKNOWN,
    )


def _cvss(raw: list[dict[str, Any]]) -> tuple[str, float]:
    vectors = {s.get("type"): str(s.get("score", "")) for s in raw}
    for kind in _CVSS_PREFERENCE:
        if vectors.get(kind):
            return vectors[kind], base_score(vectors[kind])
    return "", 0.0


def advisory_from_osv(doc: dict[str, Any], source: str = "osv") -> Advisory | None:
    """The Advisory of one OSV record; None when it is withdrawn."""
    if doc.get("withdrawn"):
        return None
    vector, score = _cvss(doc.get("severity") or [])
    rating = (doc.get("database_specific") or {}).get("severity")
    severity = from_score(score)
    if severity is Severity.UNKNOWN and isinstance(rating, str):
        severity = from_rating(rating)
    affected = tuple(a for a in map(_affected, doc.get("affected") or []) if a is not None)
    return Advisory(
        id=str(doc["id"]),
        source=source,
        # "upstream" names the record this one derives from (DEBIAN-CVE-x -> CVE-x)
        aliases=tuple(str(a) for a in [*(doc.get("aliases") or ()), *(doc.get("upstream") or ())]),
        summary=str(doc.get("summary") or ""),
        details=str(doc.get("details") or ""),
        severity=severity,
        cvss_score=score,
        cvss_vector=vector,
        references=tuple(str(r["url"]) for r in doc.get("references") or () if r.get("url")),
        published=str(doc.get("published") or ""),
        modified=str(doc.get("modified") or ""),
        affected=affected,
    )


class OsvFormat(AdvisoryFormat):
    """One OSV record per document, or a JSON list of them."""

    name = "osv"

    def accepts(self, doc: Any) -> bool:
        """An OSV record has an id and modified time, or a list of such records."""
        if isinstance(doc, list):
            return bool(doc) and all(self.accepts(item) for item in doc[:3])
        return isinstance(doc, dict) and "id" in doc and ("affected" in doc or "modified" in doc)

    def advisories(self, doc: Any) -> Iterator[Advisory]:
        """The record(s), withdrawn ones skipped."""
        for record in doc if isinstance(doc, list) else [doc]:
            try:
                advisory = advisory_from_osv(record)
            except (KeyError, TypeError) as e:
                raise FormatError(f"OSV record {record.get('id', '?')}: missing {e}") from e
            if advisory is not None:
                yield advisory


FORMATS.register("osv", OsvFormat())
