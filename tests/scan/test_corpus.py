"""The corpus image: the packages, secrets and misconfigurations the reference scanners find."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import msgspec
import pytest

from stockade.model.inventory import Ecosystem, ScanResult
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_image
from tests.scan.reference import GOLDEN_DIR, syft_packages, trivy_packages

GOLDEN = GOLDEN_DIR / "debian12-app.packages.json"
KINDS = {"deb": Ecosystem.DEBIAN, "npm": Ecosystem.NPM, "python": Ecosystem.PYPI}


def _pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def _golden(corpus_image: Path, update: bool) -> dict[str, list[list[str]]]:
    if update:
        expected = trivy_packages(corpus_image)
        syft = syft_packages(corpus_image)
        if syft is not None:  # the two references must agree before they become the truth
            for kind, items in expected.items():
                norm = _pep503 if kind == "python" else str
                assert sorted((norm(n), v) for n, v in items) == sorted(
                    (norm(n), v) for n, v in syft[kind]
                ), f"trivy and syft disagree on {kind}"
        document = {"source": "trivy 0.76 (agrees with syft 1.18)", **expected}
        GOLDEN.write_text(json.dumps(document, indent=1) + "\n")
    data: dict[str, list[list[str]]] = json.loads(GOLDEN.read_text())
    return data


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_packages_equal_reference_scanners(
    kind: str, corpus_scan: ScanResult, corpus_image: Path, update_golden: bool
) -> None:
    expected = sorted(tuple(item) for item in _golden(corpus_image, update_golden)[kind])
    found = sorted((p.name, p.version) for p in corpus_scan.packages if p.ecosystem is KINDS[kind])
    assert found == expected
    assert len(found) == {"deb": 88, "npm": 54, "python": 8}[kind]


def test_os_and_layers_are_known(corpus_scan: ScanResult) -> None:
    assert corpus_scan.os == "debian 12.15"
    assert len(corpus_scan.layers) == 4
    by_name = {p.name: p for p in corpus_scan.packages}
    assert by_name["libc6"].layer == corpus_scan.layers[0]
    assert by_name["requests"].layer == corpus_scan.layers[1]
    assert by_name["lodash"].layer.created_by.startswith("COPY dir:")
    assert by_name["lodash"].layer == corpus_scan.layers[2]
    assert by_name["bsdutils"].source_name == "util-linux"
    assert by_name["bsdutils"].purl == (
        "pkg:deb/debian/bsdutils@2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12.15&epoch=1"
    )
    assert by_name["libc6"].distro == "debian:12"
    assert by_name["apt"].licenses == ("GPL-2.0-or-later", "GPL-2.0-only", "BSD-3-Clause", "MIT")
    assert by_name["urllib3"].purl == "pkg:pypi/urllib3@1.24.1"


def test_planted_secrets_are_found_and_redacted(corpus_scan: ScanResult) -> None:
    secrets = {(f.id, f.path, f.line) for f in corpus_scan.findings if f.kind == "secret"}
    assert secrets == {
        ("aws-access-key-id", "app/.env", 3),
        ("github-pat", "app/deploy.sh", 3),
        ("private-key", "root/.ssh/id_rsa", 2),
    }
    for finding in corpus_scan.findings:
        assert "AKIANLMUXO6TPWZYTUIV" not in finding.match
        assert "ghp_" not in finding.match
    aws = next(f for f in corpus_scan.findings if f.id == "aws-access-key-id")
    assert aws.match == "AWS_ACCESS_KEY_ID=" + "*" * 20
    assert aws.layer == corpus_scan.layers[2]


def test_dockerfile_misconfigurations_use_trivy_ids(corpus_scan: ScanResult) -> None:
    found = {(f.id, f.line) for f in corpus_scan.findings if f.path == "app/Dockerfile"}
    assert {("DS-0002", 4), ("DS-0004", 5), ("DS-0026", 0), ("DS-0029", 3)} <= found
    image = {f.id for f in corpus_scan.findings if f.target == "image config"}
    assert {"STK-IMG-0001", "STK-IMG-0002"} <= image


def test_cached_rescan_equals_first_scan(corpus_image: Path, tmp_path: Path) -> None:
    options = ScanOptions(cache_dir=tmp_path, scanners=frozenset({Scanner.PKG, Scanner.SECRET}))
    first = scan_image(f"oci-archive:{corpus_image}", options)
    cached_files = list((tmp_path / "layers").rglob("*.msgpack"))
    assert len(cached_files) == 4
    second = scan_image(f"oci-archive:{corpus_image}", options)
    assert msgspec.json.encode(second) == msgspec.json.encode(first)
    assert len(first.packages) == 150
