"""A layer is what its digests say: a crafted image cannot reuse (or poison) the cached
results of a genuine layer by claiming its diff id (real OCI layouts, a real cache)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from stockade.model.inventory import ScanResult
from stockade.scan.errors import DigestMismatchError
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_image
from tests.scan.imagebuild import LayerSpec, layer_tar, sha256, write_oci_layout

KEY = (
    b"-----BEGIN RSA PRIVATE KEY-----\nMIIEow"
    + b"A" * 58
    + b"\n"
    + b"B" * 64
    + b"\n-----END RSA PRIVATE KEY-----\n"
)
GENUINE = LayerSpec(files={"etc/motd": b"welcome\n"})
WITH_KEY = LayerSpec(files={"etc/motd": b"welcome\n", "root/.ssh/id_rsa": KEY})


def _options(cache: Path) -> ScanOptions:
    return ScanOptions(cache_dir=cache, scanners=frozenset({Scanner.PKG, Scanner.SECRET}))


def _scan(layout: Path, cache: Path) -> ScanResult:
    return scan_image(f"oci:{layout}", _options(cache))


def _posing_as(real: LayerSpec, content: LayerSpec) -> LayerSpec:
    """A layer holding `content` whose image config claims `real`'s diff id."""
    return LayerSpec(
        blob=gzip.compress(layer_tar(content)), diff_id=sha256(layer_tar(real)), compression="gzip"
    )


def _secrets(result: ScanResult) -> list[str]:
    return [f.id for f in result.findings if f.kind == "secret"]


def test_a_crafted_layer_cannot_hide_behind_a_warm_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    genuine = write_oci_layout(tmp_path / "genuine", [GENUINE])
    assert _secrets(_scan(genuine, cache)) == []  # the cache now holds the genuine layer
    crafted = write_oci_layout(tmp_path / "crafted", [_posing_as(GENUINE, WITH_KEY)])
    with pytest.raises(DigestMismatchError, match="layer sha256:") as refused:
        _scan(crafted, cache)
    assert "diff id" in str(refused.value)
    assert _secrets(_scan(genuine, cache)) == []  # the legitimate path still uses the cache


def test_a_crafted_layer_cannot_poison_the_cache_of_a_genuine_one(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    crafted = write_oci_layout(tmp_path / "crafted", [_posing_as(WITH_KEY, GENUINE)])
    with pytest.raises(DigestMismatchError, match="layer sha256:"):
        _scan(crafted, cache)  # cold cache: analyzed, found not to be what it claims
    genuine = write_oci_layout(tmp_path / "genuine", [WITH_KEY])
    assert _secrets(_scan(genuine, cache)) != []
    assert _secrets(_scan(genuine, cache)) == _secrets(_scan(genuine, tmp_path / "cold"))
