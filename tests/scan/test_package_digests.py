"""SBOM scans hash the files each package database lists, in the same walk: through
symbolic and hard links, after whiteouts; what is no regular file is named, not hashed."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from stockade.model.inventory import Ecosystem, Package, PackageFile, ScanResult
from stockade.scan.digests import HashingReader, of_bytes
from stockade.scan.group import AnalyzerGroup
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.package_digests import resolved, with_digests
from stockade.scan.scanner import scan_fs, scan_image
from tests.scan.imagebuild import LayerSpec, write_oci_layout

TOOL = b"#!/bin/sh\necho tool\n" * 1000
README_OLD, README_NEW = b"old readme\n", b"new readme\n"
STATUS = (
    b"Package: demo\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n"
    b"Maintainer: Demo Team <demo@example.org>\nDescription: a demo\n\n"
)
LISTED = ("bin/tool", "usr/share/doc/demo/README", "usr/share/demo/gone", "usr/lib/demo/hard",
          "usr/share/demo/dangling", "usr/share/demo")  # fmt: skip
MD5SUMS = "".join(f"{'0' * 32}  {path}\n" for path in LISTED).encode()
SBOM = ScanOptions(cache_dir=None, scanners=frozenset({Scanner.PKG}), package_files=True)


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _link(name: str, target: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def _directory(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info, None


def _layers() -> list[LayerSpec]:
    first = LayerSpec(
        files={
            "usr/bin/tool": TOOL,
            "usr/share/doc/demo/README": README_OLD,
            "usr/share/demo/gone": b"deleted above\n",
            "var/lib/dpkg/status": STATUS,
            "var/lib/dpkg/info/demo.md5sums": MD5SUMS,
        },
        extra=[
            _link("bin", "usr/bin", tarfile.SYMTYPE),  # merged /usr: /bin/tool is usr/bin/tool
            _link("usr/lib/demo/hard", "usr/bin/tool", tarfile.LNKTYPE),
            _link("usr/share/demo/dangling", "../nowhere", tarfile.SYMTYPE),
        ],
    )
    second = LayerSpec(
        files={"usr/share/doc/demo/README": README_NEW, "usr/share/demo/.wh.gone": b""}
    )
    return [first, second]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    """An SBOM scan of a two-layer image whose one package lists six paths."""
    layout = write_oci_layout(tmp_path_factory.mktemp("digests") / "layout", _layers())
    return scan_image(f"oci:{layout}", SBOM)


def test_listed_files_get_the_digests_of_what_the_image_holds(demo: ScanResult) -> None:
    (package,) = [p for p in demo.packages if p.name == "demo"]
    by_path = {f.path: f for f in package.files}
    assert by_path["/bin/tool"].sha1 == _sha1(TOOL)  # through the /bin symlink
    assert by_path["/bin/tool"].sha256 == hashlib.sha256(TOOL).hexdigest()
    assert by_path["/bin/tool"].md5 == "0" * 32  # dpkg's own digest is kept
    assert by_path["/usr/lib/demo/hard"].sha1 == _sha1(TOOL)  # a hard link to it
    assert by_path["/usr/share/doc/demo/README"].sha1 == _sha1(README_NEW)  # the upper layer's
    for path in ("/usr/share/demo/gone", "/usr/share/demo/dangling", "/usr/share/demo"):
        assert not by_path[path].sha1, path


def test_what_is_no_regular_file_is_named(demo: ScanResult) -> None:
    (warning,) = [w for w in demo.warnings if "demo 1.0" in w]
    assert "3 of its 6 listed file(s) are no regular file" in warning
    assert "/usr/share/demo/gone (deleted by a later layer)" in warning
    assert "/usr/share/demo/dangling (a symbolic link to ../nowhere, which is no" in warning
    assert "/usr/share/demo (absent, or a directory or special file)" in warning


def test_a_directory_scan_hashes_the_same_way(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for spec in _layers()[:1]:
        for path, content in spec.files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(content)
    (root / "bin").symlink_to("usr/bin")
    (root / "usr/lib/demo").mkdir(parents=True)
    (root / "usr/lib/demo/hard").hardlink_to(root / "usr/bin/tool")
    (root / "usr/share/demo/dangling").symlink_to("../nowhere")
    result = scan_fs(root, SBOM)
    (package,) = [p for p in result.packages if p.name == "demo"]
    digests = {f.path: f.sha1 for f in package.files}
    assert digests["/bin/tool"] == digests["/usr/lib/demo/hard"] == _sha1(TOOL)
    assert digests["/usr/share/doc/demo/README"] == _sha1(README_OLD)
    assert not digests["/usr/share/demo/dangling"]


def test_plain_scans_hash_nothing() -> None:
    plain = AnalyzerGroup.build(ScanOptions(cache_dir=None))
    assert plain.selector() == plain.select  # no wrapper on the walk's hot path
    assert AnalyzerGroup.build(SBOM).selector() != AnalyzerGroup.build(SBOM).select


@pytest.mark.parametrize(
    ("path", "links", "expected"),
    [
        ("bin/bash", {"bin": "usr/bin"}, "usr/bin/bash"),
        ("lib/x.so", {"lib": "/usr/lib", "usr/lib": "usr/lib64"}, "usr/usr/lib64/x.so"),
        ("a/b", {"a": "c/../d"}, "d/b"),
        ("a", {"a": "b", "b": "a"}, None),
    ],
    ids=["relative", "absolute-then-relative", "dotdot", "loop"],
)
def test_links_are_followed_like_the_kernel(
    path: str, links: dict[str, str], expected: str | None
) -> None:
    assert resolved(path, links) == expected


def test_a_record_digest_that_differs_is_reported() -> None:
    package = Package(
        name="x",
        version="1",
        ecosystem=Ecosystem.PYPI,
        files=(PackageFile(path="/site/x.py", sha256="00" * 32),),
    )
    updated, warnings = with_digests(package, {"site/x.py": of_bytes(b"changed")}, {})
    assert updated.files[0].sha256 == hashlib.sha256(b"changed").hexdigest()
    assert warnings == [
        "PyPI package x 1: 1 file(s) differ from the SHA-256 its RECORD lists: /site/x.py"
    ]


def test_a_stream_is_hashed_whole_whatever_the_analyzers_read() -> None:
    reader = HashingReader(io.BytesIO(TOOL))
    assert reader.read(10) == TOOL[:10]
    assert reader.finish() == of_bytes(TOOL)
