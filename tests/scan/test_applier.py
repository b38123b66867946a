"""The applier merges layers: overrides, whiteouts, opaque directories, layer attribution."""

from __future__ import annotations

from pathlib import Path

from stockade.model.inventory import Ecosystem, Finding, LayerRef, Package, Severity
from stockade.scan.analyzers import FileAnalysis
from stockade.scan.applier import apply_layers
from stockade.scan.cache import LayerCache
from stockade.scan.layers import LayerResult
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_image
from tests.scan.imagebuild import LayerSpec, write_oci_layout

L1, L2, L3 = (LayerRef(digest=f"sha256:{i}", diff_id=f"sha256:d{i}") for i in "123")


def _pkg(name: str, version: str) -> Package:
    return Package(name=name, version=version, ecosystem=Ecosystem.DEBIAN)


def test_a_rewritten_database_keeps_each_packages_first_layer() -> None:
    first = LayerResult(files={"var/lib/dpkg/status": FileAnalysis(packages=[_pkg("a", "1")])})
    second = LayerResult(
        files={"var/lib/dpkg/status": FileAnalysis(packages=[_pkg("a", "1"), _pkg("b", "2")])}
    )
    applied = apply_layers([(L1, first), (L2, second)])
    assert {(p.name, p.layer.digest) for p in applied.packages} == {
        ("a", "sha256:1"),
        ("b", "sha256:2"),
    }


def test_whiteouts_and_opaque_directories_delete_lower_files() -> None:
    secret = Finding(kind="secret", id="x", severity=Severity.HIGH, path="app/.env")
    first = LayerResult(
        files={
            "app/.env": FileAnalysis(findings=[secret]),
            "opt/lib/package.json": FileAnalysis(packages=[_pkg("c", "1")]),
            "srv/a/package.json": FileAnalysis(packages=[_pkg("d", "1")]),
        }
    )
    second = LayerResult(whiteouts=["app/.env", "srv/a"], opaque_dirs=["opt"])
    third = LayerResult(files={"opt/lib/package.json": FileAnalysis(packages=[_pkg("c", "2")])})
    applied = apply_layers([(L1, first), (L2, second), (L3, third)])
    assert applied.findings == []
    assert [(p.name, p.version, p.layer) for p in applied.packages] == [("c", "2", L3)]


def test_whiteout_in_a_real_image(tmp_path: Path) -> None:
    token = b"GH=ghp_" + b"Zq8" * 12 + b"\n"
    layout = write_oci_layout(
        tmp_path / "layout",
        [
            LayerSpec(files={"app/.env": token, "app/keep.env": token}),
            LayerSpec(files={"app/.wh..env": b""}),
        ],
    )
    result = scan_image(f"oci:{layout}", ScanOptions(cache_dir=None))
    assert [f.path for f in result.findings if f.kind == "secret"] == ["app/keep.env"]


def test_cache_round_trip_and_corruption(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path)
    result = LayerResult(files={"a": FileAnalysis(packages=[_pkg("a", "1")])}, whiteouts=["b"])
    cache.put("ab" * 32, result)
    assert cache.get("ab" * 32) == result
    next((tmp_path / "layers").rglob("*.msgpack")).write_bytes(b"\xc1garbage")
    assert cache.get("ab" * 32) is None
    assert cache.get("cd" * 32) is None


def test_cache_key_changes_with_scanners(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "layout", [LayerSpec(files={"a.env": b"x"})])
    for scanners in ({Scanner.PKG}, {Scanner.PKG, Scanner.SECRET}, {Scanner.PKG}):
        scan_image(
            f"oci:{layout}", ScanOptions(cache_dir=tmp_path / "c", scanners=frozenset(scanners))
        )
    assert len(list((tmp_path / "c" / "layers").rglob("*.msgpack"))) == 2


def test_image_config_findings_come_from_the_cache_unchanged(tmp_path: Path) -> None:
    config = {"Env": ["PATH=/bin", "GH=ghp_" + "Zq8" * 12], "ExposedPorts": {"22/tcp": {}}}
    layout = write_oci_layout(tmp_path / "layout", [LayerSpec(files={"a": b"x"})], config)
    options = ScanOptions(cache_dir=tmp_path / "c", scanners=frozenset(Scanner) - {Scanner.VULN})
    fresh = scan_image(f"oci:{layout}", ScanOptions(cache_dir=None, scanners=options.scanners))
    first, cached = (scan_image(f"oci:{layout}", options) for _ in range(2))
    assert {f.id for f in fresh.findings if f.target == "image config"} >= {"github-pat"}
    assert fresh.findings == first.findings == cached.findings
    assert len(list((tmp_path / "c" / "config").rglob("*.msgpack"))) == 1
    pkg_only = scan_image(
        f"oci:{layout}", ScanOptions(cache_dir=tmp_path / "c", scanners=frozenset({Scanner.PKG}))
    )
    assert pkg_only.findings == []
