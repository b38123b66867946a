"""All four formats over the real scan of the corpus image (88 deb, 54 npm, 8 python)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.model.package import PackagePurpose
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from stockade.model.inventory import ScanResult
from stockade.scan.output import write
from tests.scan.output.sarif import assert_valid_sarif


def test_real_scan_in_every_format(
    corpus_scan: ScanResult, tmp_path: Path, sarif_schema: dict[str, Any]
) -> None:
    assert len(corpus_scan.packages) >= 150
    bom = write(corpus_scan, "cyclonedx").decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom) is None
    components = json.loads(bom)["components"]
    assert len(components) == len(corpus_scan.packages) + 1  # + the OS

    spdx = tmp_path / "image.spdx.json"
    spdx.write_bytes(write(corpus_scan, "spdx-json"))
    document = parse_file(str(spdx))
    assert validate_full_spdx_document(document) == []
    assert len(document.packages) == len(corpus_scan.packages) + 2  # + the image and its OS

    log = json.loads(write(corpus_scan, "sarif"))
    assert_valid_sarif(log, sarif_schema)
    assert len(log["runs"][0]["results"]) == len(corpus_scan.findings)

    report = json.loads(write(corpus_scan, "json"))
    assert len(report["packages"]) == len(corpus_scan.packages)


def test_ntia_minimum_elements(corpus_scan: ScanResult, tmp_path: Path) -> None:
    """Supplier, name, version, unique ids, dependencies, author and timestamp in both SBOMs."""
    bom = json.loads(write(corpus_scan, "cyclonedx-json"))
    assert bom["metadata"]["timestamp"] and bom["metadata"]["authors"]
    libraries = [c for c in bom["components"] if c["type"] == "library"]
    assert len({c["bom-ref"] for c in libraries}) == len(libraries) == 150
    assert all(c["name"] and c["version"] and c["purl"] for c in libraries)
    # every deb (Maintainer) and Python (Author) package names its supplier; of npm's, the
    # five whose package.json names no author, contributor or maintainer (the app itself,
    # escape-html, inherits, path-to-regexp, ...) cannot
    unnamed = [c for c in libraries if "supplier" not in c]
    assert all(c["purl"].startswith("pkg:npm/") for c in unnamed)
    assert {"demo-app", "escape-html"} <= {c["name"] for c in unnamed} and len(unnamed) == 5
    edges = {e["ref"]: e.get("dependsOn", []) for e in bom["dependencies"]}
    assert set(edges["image"]) == {c["bom-ref"] for c in bom["components"]}
    linked = sum(len(p.depends_on) for p in corpus_scan.packages)
    assert sum(len(edges[c["bom-ref"]]) for c in libraries) == linked > 300

    path = tmp_path / "image.spdx.json"
    path.write_bytes(write(corpus_scan, "spdx-json"))
    document = parse_file(str(path))
    assert document.creation_info.creators and document.creation_info.created
    packages = [p for p in document.packages if p.primary_package_purpose is PackagePurpose.LIBRARY]
    assert len(packages) == 150
    assert sum(str(p.supplier) == "NOASSERTION" for p in packages) == len(unnamed)
    depends = [r for r in document.relationships if r.relationship_type.name == "DEPENDS_ON"]
    assert len(depends) == linked
    (os_package,) = [
        p for p in document.packages if p.primary_package_purpose is PackagePurpose.OPERATING_SYSTEM
    ]
    assert os_package.name == "debian"
