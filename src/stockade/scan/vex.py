"""VEX: OpenVEX and CycloneDX VEX statements that suppress findings per product.

A statement names a vulnerability (its id or an alias) and products: the image (an
`pkg:oci` purl or its digest) with optional subcomponents (package purls), or a package
purl alone. `not_affected` and `fixed` (CycloneDX: `not_affected`, `resolved`,
`false_positive`) suppress the matching findings, which move to `ScanResult.suppressed`
with the status, justification and statement; of several statements about one finding,
the last read wins (a later `affected` takes a finding back).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from packageurl import PackageURL

from stockade.model.inventory import Finding, Package, ScanResult, Suppressed
from stockade.scan.errors import ScanError
from stockade.scan.purl import purl_of

SUPPRESSING = frozenset({"not_affected", "fixed", "resolved", "false_positive"})


class VexError(ScanError):
    """A VEX document that cannot be read, saying which and why."""


@dataclass(frozen=True, slots=True)
class Product:
    """What a statement is about: an image or a package, maybe narrowed to subcomponents."""

    ref: str  # a purl, a digest or a bom-ref
    subcomponents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VexStatement:
    """One statement: vulnerability, products, status and why."""

    vulnerability: str
    products: tuple[Product, ...]
    status: str
    justification: str
    statement: str
    where: str  # "vex.json: statements[2]"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _openvex(doc: dict[str, Any], path: Path) -> list[VexStatement]:
    statements = doc.get("statements")
    if not isinstance(statements, list):
        raise VexError(f"{path}: an OpenVEX document needs a `statements` list")
    found = []
    for n, entry in enumerate(statements, start=1):
        where = f"{path}: statements[{n}]"
        if not isinstance(entry, dict):
            raise VexError(f"{where}: not an object")
        vulnerability = entry.get("vulnerability")
        name = _text(vulnerability.get("name")) if isinstance(vulnerability, dict) else ""
        name = name or _text(vulnerability)
        status = _text(entry.get("status"))
        if not name or not status:
            raise VexError(f"{where}: needs `vulnerability` (with a name) and `status`")
        products = []
        for product in entry.get("products") or []:
            if isinstance(product, str):  # OpenVEX 0.0.x: products as plain ids
                products.append(Product(product))
            elif isinstance(product, dict) and _text(product.get("@id")):
                subs = product.get("subcomponents") or []
                ids = (_text(s.get("@id")) if isinstance(s, dict) else _text(s) for s in subs)
                products.append(Product(_text(product["@id"]), tuple(i for i in ids if i)))
        statement = _text(entry.get("impact_statement")) or _text(entry.get("status_notes"))
        found.append(
            VexStatement(
                name, tuple(products), status, _text(entry.get("justification")), statement, where
            )
        )
    return found


def _cyclonedx(doc: dict[str, Any], path: Path) -> list[VexStatement]:
    found = []
    for n, entry in enumerate(doc.get("vulnerabilities") or [], start=1):
        where = f"{path}: vulnerabilities[{n}]"
        if not isinstance(entry, dict) or not _text(entry.get("id")):
            raise VexError(f"{where}: each vulnerability needs an `id`")
        analysis = entry.get("analysis")
        if not isinstance(analysis, dict):
            analysis = {}
        state = _text(analysis.get("state"))
        if not state:
            continue  # no analysis: nothing stated about it
        refs = (_text(a.get("ref")) for a in entry.get("affects") or [] if isinstance(a, dict))
        # a BOM-Link (urn:cdx:serial/version#bom-ref) names a component of another BOM
        products = tuple(Product(r.rpartition("#")[2] or r) for r in refs if r)
        found.append(
            VexStatement(
                _text(entry["id"]),
                products,
                state,
                _text(analysis.get("justification")),
                _text(analysis.get("detail")),
                where,
            )
        )
    return found


def load_vex(path: Path) -> list[VexStatement]:
    """The statements of an OpenVEX or CycloneDX VEX (JSON) document."""
    try:
        doc = msgspec.json.decode(path.read_bytes())
    except OSError as e:
        raise VexError(f"cannot read VEX document {path}: {e.strerror}") from e
    except msgspec.DecodeError as e:
        raise VexError(f"{path}: not valid JSON: {e}") from e
    if isinstance(doc, dict) and "openvex" in _text(doc.get("@context")):
        return _openvex(doc, path)
    if isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX":
        return _cyclonedx(doc, path)
    raise VexError(f"{path}: neither OpenVEX (@context openvex) nor CycloneDX (bomFormat)")


def _same_package(ref: str, purl: str) -> bool:
    """Whether `ref` (a purl, maybe without version or qualifiers) names package `purl`."""
    if ref == purl:
        return True
    try:
        wanted, have = PackageURL.from_string(ref), PackageURL.from_string(purl)
    except ValueError:
        return False
    same = (wanted.type, wanted.namespace, wanted.name.lower()) == (
        have.type,
        have.namespace,
        have.name.lower(),
    )
    return same and (not wanted.version or wanted.version == have.version)


def _is_image(ref: str, result: ScanResult) -> bool:
    digests = {d for d in (result.image_digest, result.image_config_digest) if d}
    if ref in digests or ref == result.target:
        return True
    if not ref.startswith("pkg:oci/"):
        return False
    try:
        version = PackageURL.from_string(ref).version or ""
    except ValueError:
        return False
    return version in digests


def _applies(statement: VexStatement, finding: Finding, purl: str, result: ScanResult) -> bool:
    ids = {finding.id, *(r for r in finding.references if "://" not in r)}
    if statement.vulnerability not in ids:
        return False
    for product in statement.products:
        if _is_image(product.ref, result):
            subs = product.subcomponents
            if not subs or any(purl and _same_package(s, purl) for s in subs):
                return True
        elif purl and _same_package(product.ref, purl):
            return True
    return False


def _purl(finding: Finding, packages: dict[tuple[str, str], Package]) -> str:
    package = packages.get((finding.target, finding.installed_version))
    return purl_of(package) if package is not None else ""


def apply_vex(result: ScanResult, statements: list[VexStatement]) -> None:
    """Move the vulnerabilities a `not_affected`/`fixed` statement covers to `suppressed`."""
    packages = {(p.name, p.version): p for p in result.packages}
    kept: list[Finding] = []
    for finding in result.findings:
        purl = _purl(finding, packages)
        last = None
        if finding.kind == "vulnerability":
            last = next(
                (s for s in reversed(statements) if _applies(s, finding, purl, result)), None
            )
        if last is None or last.status not in SUPPRESSING:
            kept.append(finding)
            continue
        result.suppressed.append(
            Suppressed(
                finding=finding,
                statement=last.statement,
                source=last.where,
                status=last.status,
                justification=last.justification,
            )
        )
    result.findings = kept
