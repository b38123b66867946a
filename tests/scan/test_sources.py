"""Sources: OCI layout/archive, docker-archive, dir, podman and container, with clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stockade.model.inventory import Ecosystem
from stockade.scan.errors import DigestMismatchError, SourceError
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_fs, scan_image
from stockade.scan.sources import ImageSource, guess_kind, open_source
from tests.scan.imagebuild import (
    LayerSpec,
    layer_tar,
    sha256,
    tar_directory,
    write_docker_archive,
    write_oci_layout,
)
from tests.support.podman import Podman

PKG_ONLY = ScanOptions(cache_dir=None, scanners=frozenset({Scanner.PKG}))
DPKG_STATUS = b"""Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: gone
Status: deinstall ok config-files
Version: 1.0
"""
LEFT_PAD = b'{"name": "left-pad", "version": "1.3.0", "license": "WTFPL"}'
APK_DB = b"P:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\n\nP:busybox\nV:1.36.1-r5\nA:x86_64\n\n"


def _layers() -> list[LayerSpec]:
    return [
        LayerSpec(files={"var/lib/dpkg/status": DPKG_STATUS, "etc/debian_version": b"12.5\n"}),
        LayerSpec(
            files={
                "app/node_modules/left-pad/package.json": b'{"name":"left-pad","version":"1.3.0"}'
            },
            compression="zstd",
        ),
        LayerSpec(files={"lib/apk/db/installed": APK_DB}, compression="none"),
    ]


def _names(result_packages: list) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(p.name, p.version) for p in result_packages}


EXPECTED = {("zlib1g", "1:1.2.13.dfsg-1"), ("left-pad", "1.3.0"), ("musl", "1.2.4-r2"),
            ("busybox", "1.36.1-r5")}  # fmt: skip


@pytest.mark.parametrize("kind", ["oci", "oci-archive", "docker-archive"])
def test_image_formats_give_the_same_packages(kind: str, tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "layout", _layers())
    if kind == "oci":
        ref = f"oci:{layout}"
    elif kind == "oci-archive":
        ref = f"oci-archive:{tar_directory(layout, tmp_path / 'image.oci.tar')}"
    else:
        ref = f"docker-archive:{write_docker_archive(tmp_path / 'image.tar', _layers())}"
    result = scan_image(ref, PKG_ONLY)
    assert _names(result.packages) == EXPECTED
    assert len(result.layers) == 3
    zlib = next(p for p in result.packages if p.name == "zlib1g")
    assert zlib.source_name == "zlib" and zlib.layer == result.layers[0]
    left_pad = next(p for p in result.packages if p.name == "left-pad")
    assert left_pad.layer == result.layers[1] and left_pad.ecosystem is Ecosystem.NPM


def test_plain_paths_are_guessed(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "layout", _layers())
    archive = tar_directory(layout, tmp_path / "image.oci.tar")
    docker = write_docker_archive(tmp_path / "docker.tar", _layers())
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    assert guess_kind(layout) == "oci"
    assert guess_kind(archive) == "oci-archive"
    assert guess_kind(docker) == "docker-archive"
    assert guess_kind(rootfs) == "dir"
    assert _names(scan_image(str(archive), PKG_ONLY).packages) == EXPECTED
    with pytest.raises(SourceError, match="no such file"):
        guess_kind(tmp_path / "missing")


def test_dir_source_reads_a_rootfs(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_bytes(DPKG_STATUS)
    (root / "etc").mkdir()
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    (root / "app").mkdir()
    (root / "app/package-lock.json").write_text(
        json.dumps(
            {
                "lockfileVersion": 3,
                "packages": {"": {"name": "x"}, "node_modules/ms": {"version": "2.1.3"}},
            }
        )  # fmt: skip
    )
    image_like = scan_image(f"dir:{root}", PKG_ONLY)
    assert _names(image_like.packages) == {("zlib1g", "1:1.2.13.dfsg-1")}
    assert image_like.os == "debian 12"
    project = scan_fs(root, PKG_ONLY)  # filesystem scans read lock files too
    assert ("ms", "2.1.3") in _names(project.packages)


def test_missing_manifest_and_blob_are_clear_errors(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "layout", _layers())
    (layout / "index.json").unlink()
    with pytest.raises(SourceError, match="no index.json"):
        open_source(f"oci:{layout}")
    layout = write_oci_layout(tmp_path / "layout2", _layers())
    with open_source(f"oci:{layout}") as source:
        assert isinstance(source, ImageSource)
        blob = source.layers()[0].ref.digest.split(":")[1]
    (layout / "blobs" / "sha256" / blob).unlink()
    with pytest.raises(SourceError, match=f"layer blob sha256:{blob} is missing"):
        scan_image(f"oci:{layout}", PKG_ONLY)


def test_tampered_blob_fails_its_digest(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "layout", [LayerSpec(files={"a": b"x" * 100})])
    with open_source(f"oci:{layout}") as source:
        assert isinstance(source, ImageSource)
        blob = layout / "blobs" / "sha256" / source.layers()[0].ref.digest.split(":")[1]
    other = write_oci_layout(tmp_path / "other", [LayerSpec(files={"a": b"y" * 100})])
    other_blob = next(p for p in (other / "blobs/sha256").iterdir() if p.stat().st_size > 100)
    shutil.copy(other_blob, blob)
    with pytest.raises(DigestMismatchError, match="blob hashes to"):
        scan_image(f"oci:{layout}", PKG_ONLY)


def test_docker_archive_digests_are_checked(tmp_path: Path) -> None:
    honest = LayerSpec(files={"a.txt": b"honest"}, compression="none")
    swapped = LayerSpec(
        files={"a.txt": b"honest"},
        blob=layer_tar(LayerSpec(files={"a.txt": b"evil!!"})),
        diff_id=sha256(layer_tar(honest)),
    )
    archive = write_docker_archive(tmp_path / "swapped.tar", [swapped])
    with pytest.raises(DigestMismatchError, match="layer.tar: blob hashes to"):
        scan_image(f"docker-archive:{archive}", PKG_ONLY)
    good = write_docker_archive(tmp_path / "good.tar", [honest])
    assert scan_image(f"docker-archive:{good}", PKG_ONLY).layers[0].diff_id == swapped.diff_id


def test_unknown_kind_falls_back_to_a_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        open_source("nosuchkind:whatever")


@pytest.mark.podman
def test_podman_save_and_podman_source(podman: Podman, busybox_image: str, tmp_path: Path) -> None:
    archive = tmp_path / "busybox.tar"
    podman.cmd("save", "--format", "docker-archive", "-o", str(archive), busybox_image)
    saved = scan_image(f"docker-archive:{archive}", ScanOptions(cache_dir=None))
    by_name = scan_image(f"podman:{busybox_image}", ScanOptions(cache_dir=None))
    assert saved.layers and [r.diff_id for r in saved.layers] == [r.diff_id for r in by_name.layers]
    assert by_name.image_config_digest == saved.image_config_digest


@pytest.mark.podman
def test_running_container_filesystem(podman: Podman, busybox_image: str) -> None:
    container = podman.run_detached(busybox_image, "sh", "-c",
                                    "mkdir -p /app && echo 'GH=ghp_" + "A1b2" * 9 + "' > "
                                    "/app/run.sh && sleep 300")  # fmt: skip
    try:
        result = scan_image(f"container:{container}", ScanOptions(cache_dir=None))
        assert any(f.id == "github-pat" and f.path == "app/run.sh" for f in result.findings)
    finally:
        podman.cmd("rm", "-f", "-t", "0", container, check=False)
    with pytest.raises(SourceError):
        scan_image("container:does-not-exist-0000", ScanOptions(cache_dir=None))


def test_nested_index_picks_linux_amd64(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "layout", _layers())
    real = json.loads((layout / "index.json").read_text())["manifests"][0]
    nested = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                {**real, "digest": "sha256:" + "1" * 64,
                 "platform": {"os": "linux", "architecture": "arm64"}},
                {**real, "platform": {"os": "linux", "architecture": "amd64"}},
            ],
        }
    ).encode()  # fmt: skip
    digest = sha256(nested)
    (layout / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(nested)
    index_type = "application/vnd.oci.image.index.v1+json"
    (layout / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [{"mediaType": index_type, "digest": digest, "size": len(nested)}],
            }
        )  # fmt: skip
    )
    result = scan_image(f"oci:{layout}", PKG_ONLY)
    assert result.image_digest == real["digest"]
    assert _names(result.packages) == EXPECTED
