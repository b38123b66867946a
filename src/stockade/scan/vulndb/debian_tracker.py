"""The Debian Security Tracker JSON: source package -> CVE -> release -> status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stockade.scan.vulndb.formats import FORMATS, AdvisoryFormat
from stockade.scan.vulndb.model import Advisory, Affected, AffectedRange, RangeEvent
from stockade.scan.vulndb.severity import from_rating

# release code name -> the number OSV's "Debian:N" ecosystems use
RELEASES = {
    "wheezy": "7",
    "jessie": "8",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
}
NOT_AFFECTED = "0"  # the tracker's fixed_version for "this release never had the bug"


def _affected(package: str, release: str, info: dict[str, Any]) -> Affected | None:
    number = RELEASES.get(release)
    if number is None:  # sid and experimental move daily; nothing installs them as a release
        return None
    status = str(info.get("status", ""))
    fixed = str(info.get("fixed_version") or "")
    if fixed == NOT_AFFECTED:
        return None
    if status == "resolved" and not fixed:
        return None
    events = [RangeEvent(introduced="0")]
    if status == "resolved":
        events.append(RangeEvent(fixed=fixed))
    return Affected(
        ecosystem=f"Debian:{number}",
        name=package,
        ranges=(AffectedRange(type="ECOSYSTEM", events=tuple(events)),),
        severity=from_rating(str(info.get("urgency", ""))),
        status=status,
    )


class DebianTrackerFormat(AdvisoryFormat):
    """https://security-tracker.debian.org/tracker/data/json (or a part of it)."""

    name = "debian-tracker"

    def accepts(self, doc: Any) -> bool:
        """A dict of packages whose CVE entries carry "releases"."""
        if not isinstance(doc, dict) or not doc:
            return False
        first = next(iter(doc.values()))
        if not isinstance(first, dict) or not first:
            return False
        entry = next(iter(first.values()))
        return isinstance(entry, dict) and "releases" in entry

    def advisories(self, doc: Any) -> Iterator[Advisory]:
        """One advisory per CVE, affecting each (package, release) not fixed from the start."""
        by_cve: dict[str, list[Affected]] = {}
        details: dict[str, str] = {}
        for package, cves in doc.items():
            for cve, entry in cves.items():
                details.setdefault(cve, str(entry.get("description") or ""))
                for release, info in (entry.get("releases") or {}).items():
                    entry_affected = _affected(package, release, info)
                    if entry_affected is not None:
                        by_cve.setdefault(cve, []).append(entry_affected)
        for cve, affected in by_cve.items():
            yield Advisory(
                id=cve,
                source=self.name,
                summary=details[cve],
                severity=max(a.severity for a in affected),
                references=(f"https://security-tracker.debian.org/tracker/{cve}",),
                affected=tuple(affected),
            )


FORMATS.register("debian-tracker", DebianTrackerFormat())
