"""Scan targets by reference: `kind:LOCATION` or a plain path guessed by its content."""

from __future__ import annotations

import re
import tarfile
from collections.abc import Callable
from pathlib import Path

from stockade.registry import Registry
from stockade.scan.errors import SourceError
from stockade.scan.sources.base import ImageSource, Layer, Readable, RootfsSource, Source
from stockade.scan.sources.blobstore import DirStore, TarStore

__all__ = [
    "SOURCES",
    "ImageSource",
    "Layer",
    "Readable",
    "RootfsSource",
    "Source",
    "guess_kind",
    "looks_like_image_name",
    "open_source",
]

# a relaxed image reference: [host[:port]/]path[:tag][@digest], lower-case path components
_IMAGE_NAME = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?[a-z0-9]+(?:[._/-][a-z0-9]+)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
)
SourceFactory = Callable[[str, str], Source]
SOURCES: Registry[SourceFactory] = Registry("image source")

# each factory imports its source's module: a scan loads only the kind it reads


def _oci_archive(ref: str, location: str) -> Source:
    from stockade.scan.sources.oci import OciImage

    return OciImage(ref, TarStore(Path(location)))


def _oci_dir(ref: str, location: str) -> Source:
    from stockade.scan.sources.oci import OciImage

    return OciImage(ref, DirStore(Path(location)))


def _docker_archive(ref: str, location: str) -> Source:
    from stockade.scan.sources.docker_archive import DockerArchiveImage

    return DockerArchiveImage(ref, TarStore(Path(location)))


def _podman(ref: str, location: str) -> Source:
    from stockade.scan.sources.podman import PodmanImage

    return PodmanImage(ref, location)


def _directory(ref: str, location: str) -> Source:
    from stockade.scan.sources.rootfs import DirectorySource

    return DirectorySource(ref, Path(location))


def _container(ref: str, location: str) -> Source:
    from stockade.scan.sources.rootfs import ContainerSource

    return ContainerSource(ref, location)


SOURCES.register("oci-archive", _oci_archive)
SOURCES.register("oci", _oci_dir)
SOURCES.register("oci-dir", _oci_dir)  # Trivy's and Syft's name for a layout directory
SOURCES.register("docker-archive", _docker_archive)
SOURCES.register("podman", _podman)
SOURCES.register("dir", _directory)
SOURCES.register("container", _container)


def open_source(ref: str) -> Source:
    """Open the target named by `ref` (`kind:LOCATION`, or a path whose kind is guessed)."""
    kind, sep, location = ref.partition(":")
    if sep and kind in SOURCES:
        return SOURCES.get(kind)(ref, location)
    if not Path(ref).exists() and looks_like_image_name(ref):
        from stockade.scan.sources.runtimes import open_by_name

        return open_by_name(ref)  # Trivy's way: a name that is no file is a local image
    return SOURCES.get(guess_kind(Path(ref)))(ref, ref)


def looks_like_image_name(ref: str) -> bool:
    """Whether `ref` could be an image reference (`app`, `localhost/app:1`, `a/b@sha256:...`)."""
    return _IMAGE_NAME.fullmatch(ref) is not None


def guess_kind(path: Path) -> str:
    """The source kind of a plain path, from what it holds."""
    if path.is_dir():
        return "oci" if (path / "oci-layout").is_file() else "dir"
    if not path.is_file():
        raise SourceError(f"{path}: no such file or directory (and no known `kind:` prefix)")
    try:
        with tarfile.open(path, "r:*") as tar:
            names = {n.lstrip("./") for n in tar.getnames()}
    except (OSError, tarfile.TarError, EOFError) as e:
        raise SourceError(f"{path}: not a directory, OCI archive or docker archive") from e
    if "oci-layout" in names or "index.json" in names:
        return "oci-archive"
    if "manifest.json" in names:
        return "docker-archive"
    raise SourceError(f"{path}: a tar archive with neither index.json nor manifest.json")
