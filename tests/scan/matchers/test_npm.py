"""The test image's npm packages against the Node.js security-wg advisories."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import nodesemver

from stockade.model.inventory import Ecosystem, Finding, Package
from stockade.scan.matchers import match_packages
from stockade.scan.vulndb import VulnDB

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


def expected(corpus: Path, packages: list[Package]) -> set[tuple[str, str, str]]:
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


def _nswg(finding: Finding) -> str:
    return next(r for r in (finding.id, *finding.references) if r.startswith("NSWG-ECO-"))


def test_image_npm_packages_match_exactly(corpus: Path, npm_db: VulnDB) -> None:
    packages = image_npm_packages(corpus / "images/debian12-app.oci.tar")
    assert len(packages) >= 50
    assert (
        Package(
            name="lodash",
            version="4.17.15",
            ecosystem=Ecosystem.NPM,
            path="/app/node_modules/lodash/package.json",
        )
        in packages
    )
    findings = match_packages(packages, "debian 12", npm_db)
    got = {(f.target, f.installed_version, _nswg(f)) for f in findings}
    want = expected(corpus, packages)
    assert got == want
    assert want  # the image is old enough to have some
    lodash = [f for f in findings if f.target == "lodash"]
    assert [(f.id, f.fixed_version) for f in lodash] == [("NSWG-ECO-516", "4.17.19")]
    # the record says 7.4 but its CVSS:3.0 vector computes to 6.3: the vector wins
    assert lodash[0].cvss_score == 6.3
    assert lodash[0].severity.name == "MEDIUM"
