"""Alpine's secdb (main.json, community.json): package -> secfixes {fixed version: [CVE]}."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from stockade.scan.vulndb.formats import FORMATS, AdvisoryFormat
from stockade.scan.vulndb.model import Advisory, Affected, AffectedRange, RangeEvent

_ID = re.compile(r"\b(?:CVE-\d{4}-\d+|GHSA(?:-[0-9a-z]{4}){3}|XSA-\d+|ALPINE-\d+)\b")
NOT_AFFECTED = "0"


def _ecosystem(distroversion: str) -> str:
    version = distroversion.strip()
    return f"Alpine:{version if version.startswith('v') else 'v' + version}"


class AlpineSecdbFormat(AdvisoryFormat):
    """https://secdb.alpinelinux.org/v3.NN/main.json."""

    name = "alpine-secdb"

    def accepts(self, doc: Any) -> bool:
        """A dict with distroversion and a packages list of {"pkg": {...}}."""
        return isinstance(doc, dict) and "distroversion" in doc and "packages" in doc

    def advisories(self, doc: Any) -> Iterator[Advisory]:
        """One advisory per id, affecting each package before the version that fixed it."""
        ecosystem = _ecosystem(str(doc["distroversion"]))
        by_id: dict[str, list[Affected]] = {}
        for item in doc.get("packages") or []:
            pkg = item.get("pkg") or {}
            for fixed, ids in (pkg.get("secfixes") or {}).items():
                if str(fixed) == NOT_AFFECTED:
                    continue
                events = (RangeEvent(introduced="0"), RangeEvent(fixed=str(fixed)))
                entry = Affected(
                    ecosystem=ecosystem,
                    name=str(pkg["name"]),
                    ranges=(AffectedRange(type="ECOSYSTEM", events=events),),
                )
                for text in ids or []:
                    for vuln_id in _ID.findall(str(text)):
                        by_id.setdefault(vuln_id, []).append(entry)
        for vuln_id, affected in by_id.items():
            yield Advisory(id=vuln_id, source=self.name, affected=tuple(affected))


FORMATS.register("alpine-secdb", AlpineSecdbFormat())
