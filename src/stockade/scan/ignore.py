"""Accepted findings: `.stockadeignore` in Trivy's two shapes, with expiry dates and reasons."""

from __future__ import annotations

import datetime as dt
import fnmatch
from pathlib import Path
from typing import Any

from stockade.model.inventory import Finding, ScanResult, Suppressed
from stockade.scan.errors import ScanError

_SECTIONS = {  # Trivy's .trivyignore.yaml sections -> finding kinds
    "vulnerabilities": "vulnerability",
    "misconfigurations": "misconfiguration",
    "secrets": "secret",
    "malware": "malware",
}


class IgnoreFileError(ScanError):
    """An ignore file that cannot be read, saying where."""


class IgnoreRule:
    """One accepted finding id, maybe only under some paths, until an expiry date."""

    def __init__(
        self,
        rule_id: str,
        where: str,
        *,
        kind: str = "",
        paths: tuple[str, ...] = (),
        statement: str = "",
        expires: dt.date | None = None,
    ) -> None:
        self.id, self.where, self.kind, self.paths = _bare(rule_id), where, kind, paths
        self.statement, self.expires = statement, expires

    def matches(self, finding: Finding) -> bool:
        """Whether this rule names `finding` (its id or an alias) at one of its paths."""
        if self.kind and finding.kind != self.kind:
            return False
        ids = {_bare(finding.id), *(r for r in finding.references if "://" not in r)}
        if self.id not in ids:
            return False
        path = finding.path.lstrip("/")
        return not self.paths or any(fnmatch.fnmatch(path, p.lstrip("/")) for p in self.paths)


def _bare(rule_id: str) -> str:
    return rule_id.removeprefix("AVD-")  # Trivy names its checks AVD-DS-0002, Stockade DS-0002


def _date(value: Any, where: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise IgnoreFileError(f"{where}: expiry {value!r} is not a date (YYYY-MM-DD)") from None


def _line_rules(text: str, path: Path) -> list[IgnoreRule]:
    rules = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].split()
        if not content:
            continue
        where = f"{path}:{number}"
        expiry = next((w[4:] for w in content[1:] if w.startswith("exp:")), None)
        rules.append(IgnoreRule(content[0], where, expires=_date(expiry, where)))
    return rules


def _yaml_rules(doc: Any, path: Path) -> list[IgnoreRule]:
    if not isinstance(doc, dict) or not set(doc) <= {*_SECTIONS, "licenses"}:
        raise IgnoreFileError(f"{path}: expected sections {', '.join(_SECTIONS)}")
    rules = []
    for section, kind in _SECTIONS.items():
        for n, entry in enumerate(doc.get(section) or (), start=1):
            where = f"{path}: {section}[{n}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise IgnoreFileError(f"{where}: each entry needs an `id`")
            paths = entry.get("paths") or []
            if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
                raise IgnoreFileError(f"{where}: `paths` must be a list of paths")
            expires = _date(entry.get("expired_at"), where)
            statement = str(entry.get("statement") or "")
            rules.append(
                IgnoreRule(
                    entry["id"],
                    where,
                    kind=kind,
                    paths=tuple(paths),
                    statement=statement,
                    expires=expires,
                )
            )
    return rules


def load_ignorefile(path: Path) -> list[IgnoreRule]:
    """The rules of `path`: YAML (`.yaml`/`.yml`) as Trivy's, else one id a line (`exp:DATE`)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise IgnoreFileError(f"cannot read ignore file {path}: {e}") from e
    if path.suffix.lower() not in (".yaml", ".yml"):
        return _line_rules(text, path)
    import yaml  # only for YAML ignore files: a scan imports no more than it uses

    try:
        return _yaml_rules(yaml.safe_load(text), path)
    except yaml.YAMLError as e:
        raise IgnoreFileError(f"{path}: not valid YAML: {str(e).splitlines()[0]}") from e


def apply_ignores(result: ScanResult, rules: list[IgnoreRule], today: dt.date) -> None:
    """Move the findings a live rule names to `result.suppressed`; warn of expired rules."""
    live = [r for r in rules if r.expires is None or r.expires >= today]
    for rule in rules:
        if rule.expires is not None and rule.expires < today:
            result.warnings.append(
                f"ignore rule {rule.id} ({rule.where}) expired on {rule.expires}"
            )
    kept: list[Finding] = []
    for finding in result.findings:
        hit = next((r for r in live if r.matches(finding)), None)
        if hit is None:
            kept.append(finding)
        else:
            result.suppressed.append(
                Suppressed(finding=finding, statement=hit.statement, source=hit.where)
            )
    result.findings = kept
