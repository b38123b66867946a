"""Plain readings of the advisory feeds (OSV ranges, node-semver) the matchers must agree with."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path
from typing import Any

import nodesemver
import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from stockade.model.inventory import Ecosystem, Package

IMAGE_PYTHON = {
    "requests": "2.19.0",
    "urllib3": "1.24.1",
    "Jinja2": "2.10",
    "MarkupSafe": "1.1.1",
    "idna": "2.7",
    "chardet": "3.0.4",
    "certifi": "2018.4.16",
    "PyYAML": "5.3",
}


def _key(version: str) -> Version | None:
    """None stands for the "0" that sorts before every version."""
    return None if version == "0" else Version(version)


def _intervals(events: list[dict[str, str]]) -> list[tuple[Version | None, Version | None, bool]]:
    """[(start, end, end_inclusive)] built by walking the events in version order."""
    ordered = sorted(events, key=lambda e: (_key(next(iter(e.values()))) or Version("0"), 0))
    out: list[tuple[Version | None, Version | None, bool]] = []
    start, open_ = None, False
    for event in ordered:
        ((kind, version),) = event.items()
        if kind == "introduced" and not open_:
            start, open_ = _key(version), True
        elif kind in ("fixed", "last_affected") and open_:
            out.append((start, Version(version), kind == "last_affected"))
            open_ = False
    if open_:
        out.append((start, None, False))
    return out


def reference_affects(record: dict[str, Any], name: str, version: str) -> bool:
    """A plain reading of the OSV schema: listed versions, or inside an introduced..fixed span."""
    installed = Version(version)
    for affected in record.get("affected", []):
        package = affected["package"]
        if package["ecosystem"] != "PyPI":
            continue
        if canonicalize_name(package["name"]) != canonicalize_name(name):
            continue
        if version in affected.get("versions", []):
            return True
        for rng in affected.get("ranges", []):
            if rng["type"] != "ECOSYSTEM":
                continue
            try:
                spans = _intervals(rng["events"])
            except InvalidVersion:
                continue
            for start, end, inclusive in spans:
                above = start is None or installed >= start
                below = end is None or installed < end or (inclusive and installed == end)
                if above and below:
                    return True
    return False


def expected_ids(corpus: Path, name: str, version: str) -> set[str]:
    """Ids of every non-withdrawn osv-pypi record that affects name==version."""
    folder = corpus / "vulndb/osv-pypi/vulns" / canonicalize_name(name)
    out = set()
    for path in folder.glob("*.yaml"):
        record = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        if not record.get("withdrawn") and reference_affects(record, name, version):
            out.add(record["id"])
    return out


_MODULE_JSON = re.compile(
    r"^app/node_modules/(?:.+/node_modules/)?(?:@[^/]+/)?[^/@]+/package\.json$"
)


def image_npm_packages(archive: Path) -> list[Package]:
    """Every package.json under /app/node_modules in the OCI archive's layers."""
    packages = []
    with tarfile.open(archive) as oci:
        index = json.load(oci.extractfile("index.json"))  # type: ignore[arg-type]
        manifest_digest = index["manifests"][0]["digest"].split(":")[1]
        manifest = json.load(oci.extractfile(f"blobs/sha256/{manifest_digest}"))  # type: ignore[arg-type]
        for layer in manifest["layers"]:
            blob = oci.extractfile(f"blobs/sha256/{layer['digest'].split(':')[1]}")
            with tarfile.open(fileobj=blob, mode="r|*") as tar:
                for member in tar:
                    if member.isfile() and _MODULE_JSON.match(member.name):
                        meta = json.load(tar.extractfile(member))  # type: ignore[arg-type]
                        packages.append(
                            Package(
                                name=meta["name"],
                                version=meta["version"],
                                ecosystem=Ecosystem.NPM,
                                path="/" + member.name,
                            )
                        )
    return packages


def expected_npm(corpus: Path, packages: list[Package]) -> set[tuple[str, str, str]]:
    """(name, version, NSWG-ECO-n) for every advisory whose range node-semver says matches."""
    installed: dict[str, set[str]] = {}
    for p in packages:
        installed.setdefault(p.name.lower(), set()).add(p.version)
    out = set()
    for path in (corpus / "vulndb/nodejs-security-wg/vuln/npm").glob("*.json"):
        doc = json.loads(path.read_text())
        for version in installed.get(str(doc.get("module_name", "")).lower(), ()):
            if nodesemver.satisfies(version, doc["vulnerable_versions"] or "*", loose=False):
                out.add((doc["module_name"], version, f"NSWG-ECO-{doc['id']}"))
    return out
