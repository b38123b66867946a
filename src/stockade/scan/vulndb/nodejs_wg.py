"""The Node.js security-wg advisories (vuln/npm/*.json; vuln/core/ is Node.js itself, skipped)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stockade.model.inventory import Severity
from stockade.scan.vulndb.formats import FORMATS, AdvisoryFormat
from stockade.scan.vulndb.model import Advisory, Affected, AffectedRange
from stockade.scan.vulndb.severity import base_score, from_rating, from_score


def advisory_id(doc: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """(id, aliases): the first CVE when there is one, else NSWG-ECO-<n>."""
    own = f"NSWG-ECO-{doc['id']}"
    cves = [str(c) for c in doc.get("cves") or () if c]
    if not cves:
        return own, ()
    return cves[0], (*cves[1:], own)


class NodejsWgFormat(AdvisoryFormat):
    """One npm module advisory per document."""

    name = "nodejs-wg"

    def accepts(self, doc: Any) -> bool:
        """module_name and vulnerable_versions are what matching needs."""
        return isinstance(doc, dict) and "module_name" in doc and "vulnerable_versions" in doc

    def advisories(self, doc: Any) -> Iterator[Advisory]:
        """The advisory; its range is the npm expression as written."""
        vector = str(doc.get("cvss_vector") or "")
        score = base_score(vector) if vector else float(doc.get("cvss_score") or 0.0)
        severity = from_score(score)
        if severity is Severity.UNKNOWN:
            severity = from_rating(str(doc.get("severity") or ""))
        vuln_id, aliases = advisory_id(doc)
        rng = AffectedRange(
            type="NPM",
            expression=str(doc.get("vulnerable_versions") or "*"),
            fixed_expression=str(doc.get("patched_versions") or ""),
        )
        yield Advisory(
            id=vuln_id,
            source=self.name,
            aliases=aliases,
            summary=str(doc.get("title") or ""),
            details=str(doc.get("overview") or ""),
            severity=severity,
            cvss_score=score,
            cvss_vector=vector,
            references=tuple(str(r) for r in doc.get("references") or () if r),
            published=str(doc.get("publish_date") or ""),
            modified=str(doc.get("updated_at") or ""),
            affected=(Affected(ecosystem="npm", name=str(doc["module_name"]), ranges=(rng,)),),
        )


class NodejsCoreFormat(AdvisoryFormat):
    """Node.js runtime advisories (vuln/core/, vuln/deps/): recognised, and left out."""

    name = "nodejs-core"

    def accepts(self, doc: Any) -> bool:
        """Core and deps entries carry a "cve" list; their index.json maps ids to such entries."""
        if not isinstance(doc, dict) or not doc or "module_name" in doc:
            return False
        if isinstance(doc.get("cve"), list):
            return True
        return all(isinstance(v, dict) and isinstance(v.get("cve"), list) for v in doc.values())

    def advisories(self, doc: Any) -> Iterator[Advisory]:  # noqa: ARG002
        """Nothing: Node.js itself is not an npm package the analyzers report."""
        return iter(())


FORMATS.register("nodejs-wg", NodejsWgFormat())
FORMATS.register("nodejs-core", NodejsCoreFormat())
