"""A container's image as its root overlay's lower layers hold it: a file's sha256 by path.

The layers a container was started from are its root overlay's lower directories, top
first: a path's image version is in the topmost layer holding it, unless a whiteout or
an opaque directory above hides it. Its sha256 is pinned the first time it is read for
that layer and path, so a layer file changed in place later (beneath every container of
the image, where no upper layer shows it) no longer matches. `image_drift` (pure) says
whether an executable is drift against that version: a file the image lacks is drift
when it is on the upper layer; a file the image has is drift exactly when its content
differs, on the upper layer or not (one copied up unchanged, by a chmod or an
identical reinstall, is not).

Where the agent scanned the image (`scanned_files`), the scanner's sha256 of an
executable, read from the image's verified layers, is taken instead of the pinned one:
a layer file changed in place even before its first read is then caught too. Where that
scan failed because a layer's content did not match its digest (`tampered_images`), the
file the check named (every file of the layers, when it named none) gets `UNTRUSTED` as
its image sha256, which no file matches: it is drift wherever it is run from.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stockade.profiles.scanned_files import ScannedExecutables
from stockade.profiles.tampered_images import TamperedImages

UNTRUSTED = "untrusted"  # the image sha256 of a file whose layer failed its integrity check
MAX_PINNED = 65536
MAX_CONTAINERS = 4096
_OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")


@dataclass(frozen=True, slots=True)
class RootOverlay:
    """A container's root overlay: its upper directory and lower ones (top first)."""

    upperdir: str = ""
    lowerdirs: tuple[str, ...] = ()


def root_overlay(pid: int) -> RootOverlay:
    """The overlay mounted as `pid`'s root (empty when its root is no overlay)."""
    return _overlay_at(Path(f"/proc/{pid}/mountinfo"), "/")


def mounted_overlay(mount_point: Path) -> RootOverlay:
    """The overlay mounted at `mount_point` in this process's namespace (empty if none)."""
    return _overlay_at(Path("/proc/self/mountinfo"), os.fsdecode(mount_point))


def _overlay_at(mountinfo: Path, mount_point: str) -> RootOverlay:
    found = RootOverlay()
    for line in mountinfo.read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) > 4 and fields[4] == mount_point and tail and tail[0] == "overlay":
            options = {k: v for k, _, v in (o.partition("=") for o in tail[-1].split(","))}
            lower = tuple(d for d in options.get("lowerdir", "").split(":") if d)
            found = RootOverlay(options.get("upperdir", ""), lower)
            if mount_point == "/":
                return found  # the first: a process's root
    return found  # the last: the one on top at a mount point


def _whiteout(path: str) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == 0


def _opaque(path: str) -> bool:
    for name in _OPAQUE_XATTRS:
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def image_file(lowerdirs: tuple[str, ...], path: str) -> str | None:
    """The host path of `path` as the image's layers hold it, None when the image lacks it."""
    parts = [p for p in path.split("/") if p]
    for layer in lowerdirs:
        hidden_below = False
        for depth in range(1, len(parts) + 1):
            here = os.path.join(layer, *parts[:depth])
            leaf = os.path.join(layer, *parts[: depth - 1], ".wh." + parts[depth - 1])
            if _whiteout(here) or os.path.lexists(leaf):
                return None  # deleted in this layer: no lower layer shows it
            if depth < len(parts) and os.path.islink(here):
                return None  # a host path would resolve it, not the container's view
            if depth < len(parts) and _opaque(here):
                hidden_below = True
        candidate = os.path.join(layer, *parts)
        if os.path.lexists(candidate):
            return candidate
        if hidden_below:
            return None
    return None


def image_drift(on_upper: bool, image_sha256: str | None, file_sha256: Callable[[], str]) -> bool:
    """Whether an executable is drift, given its image version's sha256 (None: not in it)."""
    if image_sha256 is None:
        return on_upper
    found = file_sha256()
    return bool(found) and found != image_sha256


class ImageFiles:
    """sha256 of files as each container's image has them (pinned on first read)."""

    def __init__(
        self, scanned: ScannedExecutables | None = None, tampered: TamperedImages | None = None
    ) -> None:
        self._scanned = scanned
        self._tampered = tampered
        self._overlays: dict[str, RootOverlay] = {}  # by container id
        self._pinned: dict[tuple[str, str], str] = {}  # (layer file) -> "sha256:..."
        self._found: dict[tuple[str, str], str | None] = {}  # (container, path) -> layer file

    def sha256(self, container_id: str, pid: int, path: str, image_digest: str = "") -> str | None:
        """The image's sha256 of `path` in the container; None when not in its image or the
        container (its overlay) cannot be read. The scan of `image_digest` comes first."""
        if image_digest and self._scanned is not None:
            executables = self._scanned.get(image_digest)
            if executables is not None and path in executables:
                return executables[path]
        found = self._layer_file(container_id, pid, path)
        if found is None:
            return None
        tampered = self._tampered
        if image_digest and tampered is not None and tampered.distrusts(image_digest, path):
            return UNTRUSTED
        key = (found, path)
        pinned = self._pinned.get(key)
        if pinned is None:
            try:
                with open(found, "rb") as file:
                    pinned = "sha256:" + hashlib.file_digest(file, "sha256").hexdigest()
            except OSError:
                return None
            if len(self._pinned) >= MAX_PINNED:
                self._pinned.clear()
            self._pinned[key] = pinned
        return pinned

    def _layer_file(self, container_id: str, pid: int, path: str) -> str | None:
        """Where the image holds `path` (looked up once per container and path: layers
        are read-only, so what hides or holds a path there does not change)."""
        key = (container_id, path)
        if key in self._found:
            return self._found[key]
        overlay = self._overlay(container_id, pid)
        if not overlay.lowerdirs:
            return None  # no overlay root, or not readable now
        found = image_file(overlay.lowerdirs, path)
        if len(self._found) >= MAX_PINNED:
            self._found.clear()
        self._found[key] = found
        return found

    def _overlay(self, container_id: str, pid: int) -> RootOverlay:
        found = self._overlays.get(container_id)
        if found is None:
            try:
                found = root_overlay(pid) if pid > 0 else RootOverlay()
            except OSError:
                return RootOverlay()  # gone: read again if it is asked about later
            if len(self._overlays) >= MAX_CONTAINERS:
                self._overlays.clear()
            self._overlays[container_id] = found
        return found
