"""Hostile images: path tricks, links out of the root, bombs, truncation, giant sparse files."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from stockade.model.inventory import ScanResult
from stockade.scan.errors import LayerError, LimitExceededError, SourceError
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_image
from tests.scan.imagebuild import LayerSpec, layer_tar, write_oci_layout

TOKEN = b"GITHUB_TOKEN=ghp_" + b"A1b2" * 9 + b"\n"
OPTIONS = ScanOptions(cache_dir=None, scanners=frozenset({Scanner.PKG, Scanner.SECRET}))
TWO_GB = 2 * 1024**3


def _entry(
    name: str, kind: bytes = tarfile.REGTYPE, link: str = "", size: int = 0
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = size
    return info


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _scan(tmp_path: Path, layer: LayerSpec, options: ScanOptions = OPTIONS) -> ScanResult:
    layout = write_oci_layout(tmp_path / "layout", [layer])
    return scan_image(f"oci:{layout}", options)


def test_dotdot_and_absolute_entries_are_skipped_with_warnings(tmp_path: Path) -> None:
    layer = LayerSpec(
        extra=[
            (_entry("../../escape/.env", size=len(TOKEN)), TOKEN),
            (_entry("/abs/.env", size=len(TOKEN)), TOKEN),
            (_entry("app/./../../up/.env", size=len(TOKEN)), TOKEN),
            (_entry("app/ok.env", size=len(TOKEN)), TOKEN),
        ]
    )
    layout = write_oci_layout(tmp_path / "layout", [layer])
    before = _tree(tmp_path)
    result = scan_image(f"oci:{layout}", OPTIONS)
    assert [f.path for f in result.findings] == ["app/ok.env"]
    assert sum("outside the root" in w for w in result.warnings) == 3
    assert _tree(tmp_path) == before  # the scan wrote nothing, not even next to the image
    for base in (tmp_path, tmp_path.parent, tmp_path.parent.parent, Path("/")):
        assert not (base / "escape").exists() and not (base / "up").exists()
    assert not Path("/abs").exists()


def test_links_pointing_outside_the_root_are_skipped(tmp_path: Path) -> None:
    layer = LayerSpec(
        extra=[
            (_entry("app/passwd", tarfile.SYMTYPE, "../../../../etc/passwd"), None),
            (_entry("app/hard", tarfile.LNKTYPE, "../outside/secret"), None),
            (_entry("usr/bin/python", tarfile.SYMTYPE, "/usr/bin/python3"), None),  # fine
            (_entry("app/real.env", size=len(TOKEN)), TOKEN),
            (_entry("app/same.env", tarfile.LNKTYPE, "app/real.env"), None),
        ]
    )
    result = _scan(tmp_path, layer)
    assert {f.path for f in result.findings} == {"app/real.env", "app/same.env"}
    warned = [w for w in result.warnings if "pointing outside the root" in w]
    assert len(warned) == 2 and any("symlink app/passwd" in w for w in warned)
    assert not Path("/etc/passwd.stockade").exists()


def _bomb(size: int) -> tuple[bytes, str]:
    """A gzip layer holding one file of `size` zero bytes, built without holding it."""
    compressed = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=1) as stream,
        tarfile.open(fileobj=stream, mode="w|") as tar,
    ):
        tar.addfile(_entry("var/zeros", size=size), _Zeros(size))
    return compressed.getvalue(), ""


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self._left = size

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._left)
        buffer[:n] = bytes(n)
        self._left -= n
        return n

    def readable(self) -> bool:
        return True


def test_decompression_bomb_stops_at_the_limit(tmp_path: Path) -> None:
    blob, _ = _bomb(64 * 1024 * 1024)
    assert len(blob) < 1024 * 1024
    limited = ScanOptions(cache_dir=None, max_layer_size=8 * 1024 * 1024)
    tracemalloc.start()
    with pytest.raises(LimitExceededError, match="decompression bomb"):
        _scan(tmp_path, LayerSpec(blob=blob), limited)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # an eighth of what the bomb expands to


def test_big_unwanted_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    blob, _ = _bomb(64 * 1024 * 1024)  # within the default limit: skipped, never held
    tracemalloc.start()
    result = _scan(tmp_path, LayerSpec(blob=blob))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.findings == []
    assert peak < 12 * 1024 * 1024  # far below the 64 MiB that went through


def test_truncated_gzip_layer_is_a_clear_error(tmp_path: Path) -> None:
    raw = layer_tar(LayerSpec(files={f"f{i}": os.urandom(2048) for i in range(50)}))
    blob = gzip.compress(raw)
    with pytest.raises(LayerError, match="corrupt or truncated layer"):
        _scan(tmp_path, LayerSpec(blob=blob[: len(blob) // 2]))


def test_manifest_pointing_at_a_missing_blob(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "layout", [LayerSpec(files={"a": b"1"})])
    for blob in (layout / "blobs" / "sha256").iterdir():
        if blob.read_bytes()[:2] == b"\x1f\x8b":
            blob.unlink()
    with pytest.raises(SourceError, match="layer blob sha256:[0-9a-f]{64} is missing"):
        scan_image(f"oci:{layout}", OPTIONS)
    (layout / "index.json").write_text(
        '{"schemaVersion":2,"manifests":[{"digest":"sha256:' + "0" * 64 + '"}]}'
    )
    with pytest.raises(SourceError, match="manifest blob sha256:0+ is missing"):
        scan_image(f"oci:{layout}", OPTIONS)


def _sparse_member(name: str, real_size: int) -> tuple[tarfile.TarInfo, bytes]:
    """A PAX (GNU 1.0) sparse entry: a 512-byte map, no data, `real_size` apparent bytes."""
    sparse_map = f"1\n{real_size}\n0\n".encode().ljust(512, b"\0")
    info = _entry(f"GNUSparseFile.0/{Path(name).name}", size=len(sparse_map))
    info.pax_headers = {
        "GNU.sparse.major": "1",
        "GNU.sparse.minor": "0",
        "GNU.sparse.name": name,
        "GNU.sparse.realsize": str(real_size),
    }
    return info, sparse_map


def test_two_gigabyte_sparse_file_in_a_layer_is_skipped(tmp_path: Path) -> None:
    info, data = _sparse_member("app/.env", TWO_GB)
    layer = LayerSpec(extra=[(info, data), (_entry("app/b.env", size=len(TOKEN)), TOKEN)])
    tracemalloc.start()
    result = _scan(tmp_path, layer, ScanOptions(cache_dir=None))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [f.path for f in result.findings if f.kind == "secret"] == ["app/b.env"]
    assert any("app/.env" in w and str(TWO_GB) in w for w in result.warnings)
    assert peak < 32 * 1024 * 1024


def test_two_gigabyte_sparse_file_in_a_directory_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "app").mkdir(parents=True)
    with (root / "app" / ".env").open("wb") as handle:
        handle.truncate(TWO_GB)
    (root / "app" / "b.env").write_bytes(TOKEN)
    tracemalloc.start()
    result = scan_image(f"dir:{root}", OPTIONS)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [f.path for f in result.findings] == ["app/b.env"]
    assert any("app/.env" in w for w in result.warnings)
    assert peak < 32 * 1024 * 1024
