"""Bare image names (`app:1`) found in local runtimes as Trivy does: podman, Docker, containerd."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from stockade.scan.errors import SourceError
from stockade.scan.sources.base import Source
from stockade.scan.sources.blobstore import TarStore
from stockade.scan.sources.docker_archive import DockerArchiveImage
from stockade.scan.sources.oci import OciImage
from stockade.scan.sources.rootfs import PODMAN_FLAGS

_TIMEOUT = 600  # saving a large image takes a while
CONTAINERD_ADDRESS = "/run/containerd/containerd.sock"  # ctr's default; $CONTAINERD_ADDRESS
Opener = Callable[[str, str, str], Source | str]  # (ref, name, binary) -> source, or why not


def _run(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(list(args), capture_output=True, timeout=_TIMEOUT, check=False)


def _why(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = result.stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"exit status {result.returncode}"


def _podman(ref: str, name: str, podman: str) -> Source | str:
    found = _run(podman, *PODMAN_FLAGS, "image", "exists", name)
    if found.returncode != 0:
        return "no such image"
    from stockade.scan.sources.podman import PodmanImage

    return PodmanImage(ref, name)


class _SavedDockerImage(DockerArchiveImage):
    """A `docker save` archive in a private temporary directory, deleted on close."""

    def __init__(self, ref: str, tmp: tempfile.TemporaryDirectory[str], archive: Path) -> None:
        self._tmp = tmp
        super().__init__(ref, TarStore(archive))

    def close(self) -> None:
        """Close the archive and delete the temporary copy."""
        super().close()
        self._tmp.cleanup()


class _SavedOciImage(OciImage):
    """A `ctr images export` archive in a private temporary directory, deleted on close."""

    def __init__(self, ref: str, tmp: tempfile.TemporaryDirectory[str], archive: Path) -> None:
        self._tmp = tmp
        super().__init__(ref, TarStore(archive))

    def close(self) -> None:
        """Close the archive and delete the temporary copy."""
        super().close()
        self._tmp.cleanup()


def _saved(
    ref: str,
    save: Callable[[Path], list[str]],
    kind: type[_SavedDockerImage] | type[_SavedOciImage],
) -> Source | str:
    """The image the `save` command writes to the archive path it is given."""
    tmp = tempfile.TemporaryDirectory(prefix="stockade-scan-")
    archive = Path(tmp.name) / "image.tar"
    result = _run(*save(archive))
    try:
        if result.returncode != 0:
            tmp.cleanup()
            return _why(result)
        return kind(ref, tmp, archive)
    except BaseException:
        tmp.cleanup()
        raise


def _docker(ref: str, name: str, docker: str) -> Source | str:
    found = _run(docker, "image", "inspect", "--format", "{{.Id}}", name)
    if found.returncode != 0:
        # "Error: No such image: NAME" (CLI 20.10), "Error response from daemon: ..." (28)
        return "no such image" if b"No such image" in found.stderr else _why(found)
    return _saved(
        ref, lambda archive: [docker, "save", "-o", str(archive), name], _SavedDockerImage
    )


def _containerd_socket_missing() -> str | None:
    """Why containerd cannot be running here, else None: without its socket `ctr` would
    keep dialing for its whole connect timeout (10 s) before saying so."""
    address = os.environ.get("CONTAINERD_ADDRESS", CONTAINERD_ADDRESS)
    try:
        if stat.S_ISSOCK(os.stat(address).st_mode):
            return None
    except OSError:
        pass
    return f"not running (no socket at {address})"


def _containerd(ref: str, name: str, ctr: str) -> Source | str:
    if missing := _containerd_socket_missing():
        return missing
    namespace = os.environ.get("CONTAINERD_NAMESPACE", "default")  # only this one, as Trivy
    listed = _run(ctr, "-n", namespace, "images", "ls", "-q")
    if listed.returncode != 0:
        return _why(listed)
    names = set(listed.stdout.decode(errors="replace").split())
    tagged = name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"
    candidates = [tagged, f"docker.io/{tagged}", f"docker.io/library/{tagged}"]
    full = next((c for c in candidates if c in names), None)
    if full is None:
        return f"no such image in namespace {namespace}"
    export = [ctr, "-n", namespace, "images", "export", "--platform", "linux/amd64"]
    return _saved(ref, lambda archive: [*export, str(archive), full], _SavedOciImage)


RUNTIMES: tuple[tuple[str, str, Opener], ...] = (
    ("podman", "podman", _podman),
    ("Docker", "docker", _docker),
    ("containerd", "ctr", _containerd),
)


def open_by_name(ref: str) -> Source:
    """The image `ref` names, from the first local runtime that has it; else SourceError."""
    tried: list[str] = []
    for runtime, command, opener in RUNTIMES:
        binary = shutil.which(command)
        if binary is None:
            tried.append(f"{runtime}: not installed")
            continue
        opened = opener(ref, ref, binary)
        if not isinstance(opened, str):
            return opened
        tried.append(f"{runtime}: {opened}")
    raise SourceError(
        f"{ref}: no such file, and no local runtime has that image ({'; '.join(tried)})"
    )
