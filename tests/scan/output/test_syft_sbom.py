"""Our CycloneDX and SPDX SBOMs of the corpus image beside Syft's: packages, dependency
edges, CPEs, layers and the packages' files agree, except where Syft is wrong (each
allowance below says why)."""

from __future__ import annotations

import base64
import hashlib
import json
import posixpath
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

from stockade.model.inventory import ScanResult
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.output import write
from stockade.scan.scanner import scan_image

SITE = "/usr/local/lib/python3.11/site-packages/"
Edge = tuple[str, str, str]  # (purl type, dependent, dependency), names lowercased

# Syft reads no environment markers: urllib3 1.24.1 asks for certifi and idna only with
# its `secure` extra (`certifi; extra == 'secure'`), which nothing installed here requests
SYFT_EXTRA_EDGES = {("pypi", "urllib3", "certifi"), ("pypi", "urllib3", "idna")}
# Syft matches Requires-Dist names without PEP 503 normalisation: Jinja2 requires
# "MarkupSafe (>=0.23)" and Syft's package is "markupsafe", so it misses the edge
SYFT_MISSED_EDGES = {("pypi", "jinja2", "markupsafe")}
# Syft keeps one path of two hard links to the same file in a layer: dpkg lists gzip's
# /bin/gunzip and /bin/uncompress, perl-base's /usr/bin/perl and /usr/bin/perl5.36.0 (one
# inode each), Syft's SPDX has only the second of each pair, so its verification code of
# those two packages leaves out one SHA-1
SYFT_HARDLINKS_MISSED = {"gzip": "/bin/gunzip", "perl-base": "/usr/bin/perl5.36.0"}


@pytest.fixture(scope="module")
def syft_reports(syft_sbom_paths: dict[str, Path]) -> dict[str, Any]:
    """Syft 1.18's CycloneDX JSON, its own JSON and SPDX JSON of the corpus image."""
    return {fmt: json.loads(path.read_text()) for fmt, path in syft_sbom_paths.items()}


@pytest.fixture(scope="module")
def syft_bom(syft_reports: dict[str, Any]) -> dict[str, Any]:
    """Syft's CycloneDX JSON."""
    document: dict[str, Any] = syft_reports["cyclonedx-json"]
    return document


@pytest.fixture(scope="module")
def our_scan(corpus_image: Path) -> ScanResult:
    """Our package scan of the same image, with the packages' files hashed (as the CLI
    scans when an SBOM is written)."""
    options = ScanOptions(cache_dir=None, scanners=frozenset({Scanner.PKG}), package_files=True)
    return scan_image(f"oci-archive:{corpus_image}", options)


@pytest.fixture(scope="module")
def our_bom(our_scan: ScanResult) -> dict[str, Any]:
    """Our CycloneDX JSON, validated against the 1.6 schema."""
    text = write(our_scan, "cyclonedx-json").decode()
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
    unhashed: set[str] = set()  # RECORD rows with no digest (.pyc files): ours hash them
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
            unhashed |= {posixpath.normpath(SITE + f["path"]) for f in files if not f.get("digest")}
        else:
            continue
        theirs[artifact["type"], artifact["name"].lower()] = digests
    compared = 0
    for component in _libraries(our_bom).values():
        kind, name, _ = _key(component)
        if kind not in ("deb", "pypi"):
            continue
        recorded = "MD5" if kind == "deb" else "SHA-256"  # what the package database holds
        ours = {
            (f["name"], h["content"])
            for f in component.get("components", [])
            for h in f.get("hashes", [])
            if h["alg"] == recorded and f["name"] not in unhashed
        }
        assert ours == theirs["deb" if kind == "deb" else "python", name], name
        compared += len(ours)
        # beside what the database records, the SHA-1 and SHA-256 of every file found
        for file in component.get("components", []):
            algorithms = [h["alg"] for h in file.get("hashes", [])]
            assert algorithms[-2:] == ["SHA-1", "SHA-256"] or file["name"].endswith(
                "/chardetect"  # see the SPDX test below
            ), file["name"]
    assert compared > 4000  # every file dpkg's md5sums and the RECORDs list


def _contained_sha1s(document: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Per package name: the (file name, SHA-1) of each file the package CONTAINS."""
    packages = {p["SPDXID"]: p["name"] for p in document["packages"]}
    files = {f["SPDXID"]: f for f in document.get("files", [])}
    found: dict[str, list[tuple[str, str]]] = {}
    for relation in document["relationships"]:
        file = files.get(relation["relatedSpdxElement"])
        owner = packages.get(relation["spdxElementId"])
        if relation["relationshipType"] != "CONTAINS" or file is None or owner is None:
            continue
        (sha1,) = [c["checksumValue"] for c in file["checksums"] if c["algorithm"] == "SHA1"]
        found.setdefault(owner, []).append((file["fileName"], sha1))
    return found


def _code(sha1s: list[str]) -> str:
    return hashlib.sha1("".join(sorted(sha1s)).encode(), usedforsecurity=False).hexdigest()


def test_spdx_files_and_verification_codes_match_syft(
    our_scan: ScanResult, syft_reports: dict[str, Any]
) -> None:
    ours_document = json.loads(write(our_scan, "spdx-json"))
    theirs, ours = _contained_sha1s(syft_reports["spdx-json"]), _contained_sha1s(ours_document)
    codes = {
        p["name"]: p["packageVerificationCode"]["packageVerificationCodeValue"]
        for p in ours_document["packages"]
        if p["filesAnalyzed"]
    }
    debs = {p.name for p in our_scan.packages if p.purl.startswith("pkg:deb/")}
    assert len(debs) == 88 and debs <= set(codes)  # every deb package: files analyzed
    for name in debs:
        sha1s = [sha1 for _, sha1 in ours[name]]
        assert codes[name] == _code(sha1s), name  # SPDX 2.3 section 7.9
        if name in SYFT_HARDLINKS_MISSED:
            sha1s.remove(next(s for n, s in ours[name] if n == "." + SYFT_HARDLINKS_MISSED[name]))
        assert sorted(sha1s) == sorted(sha1 for _, sha1 in theirs[name]), name
    # Syft's SPDX hashes no Python package's files; ours hash every file RECORD lists but
    # chardet's script, which its RECORD places outside the image ("../../bin/chardetect"
    # from site-packages is /usr/local/lib/bin, the script is in /usr/local/bin)
    python = [p for p in our_scan.packages if p.purl.startswith("pkg:pypi/")]
    assert not any(p.name in theirs for p in python)
    for package in python:
        missing = [f.path for f in package.files if not f.sha1]
        assert missing == (["/usr/local/lib/bin/chardetect"] if package.name == "chardet" else [])
        assert len(ours[package.name]) == len(package.files) - len(missing)
