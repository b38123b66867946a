"""Root filesystems: a directory (`dir:PATH`) or a running container (`container:ID`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from stockade.scan.errors import SourceError
from stockade.scan.sources.base import RootfsSource

PODMAN_FLAGS = ("--runtime", "runc", "--cgroup-manager", "cgroupfs")


class DirectorySource(RootfsSource):
    """A directory holding a root filesystem or a project tree."""

    def __init__(self, ref: str, path: Path) -> None:
        if not path.is_dir():
            raise SourceError(f"{path}: not a directory")
        self.ref = ref
        self._root = path

    @property
    def root(self) -> Path:
        """The directory to walk."""
        return self._root


class ContainerSource(RootfsSource):
    """A running container's merged root filesystem, seen through /proc/PID/root."""

    def __init__(self, ref: str, container_id: str) -> None:
        self.ref = ref
        self._root = _container_root(container_id)

    @property
    def root(self) -> Path:
        """The container's root as the host sees it."""
        return self._root


def _container_root(container_id: str) -> Path:
    podman = shutil.which("podman")
    if podman is None:
        raise SourceError("container scanning needs podman, which is not installed")
    result = subprocess.run(
        [podman, *PODMAN_FLAGS, "inspect", "--type", "container", container_id],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise SourceError(f"container {container_id}: {message or 'not found'}")
    try:
        state = json.loads(result.stdout)[0]["State"]
        pid = int(state.get("Pid") or 0)
    except (ValueError, KeyError, IndexError) as e:
        raise SourceError(f"container {container_id}: unexpected podman inspect output") from e
    if pid <= 0:
        raise SourceError(f"container {container_id} is not running; scan its image instead")
    root = Path(f"/proc/{pid}/root")
    if not root.is_dir():
        raise SourceError(f"container {container_id}: {root} is not readable (run as root)")
    return root
