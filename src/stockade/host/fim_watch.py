"""Real-time FIM through fanotify: which watched file was written, and by whom.

The host's watched directories get inode marks (FAN_EVENT_ON_CHILD), so writes to other
files of the same filesystem (logs, databases) never reach the agent. Each container's
overlay root gets a filesystem mark (one per container, as the sensor's fanotify source
does) and events are filtered by path. Only FAN_CLOSE_WRITE is asked for: the file is
complete and can be hashed, and its writer is read from /proc at once (FAN_MODIFY would
double the events for a writer that is nearly always still there at close). Creations by rename,
deletions and attribute-only changes need fanotify's FID mode; the periodic rescan
catches those.
"""

from __future__ import annotations

import ctypes
import os
import re
import select
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from stockade.host.fim_alerts import Writer
from stockade.host.fim_policy import FimError, FimPolicy
from stockade.host.fim_scan import watched_files
from stockade.model import HOST_CONTAINER_ID

FAN_CLOEXEC, FAN_NONBLOCK, FAN_CLASS_NOTIF = 0x1, 0x2, 0x0
FAN_MARK_ADD, FAN_MARK_FILESYSTEM = 0x1, 0x100
FAN_CLOSE_WRITE = 0x8
FAN_EVENT_ON_CHILD = 0x08000000
_META = struct.Struct("<IBBHQii")
_CONTAINER_ID = re.compile(r"[0-9a-f]{64}")
_WRITER_TTL_S = 1.0


@dataclass(frozen=True, slots=True)
class Touch:
    """A watched file was written: its root, its path inside that root, who, and whether closed."""

    root: str  # "/" for the host, else the container's overlay mount
    path: str
    writer: Writer
    closed: bool


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fanotify_init.argtypes = [ctypes.c_uint, ctypes.c_uint]
    libc.fanotify_mark.argtypes = [
        ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p,
    ]  # fmt: skip
    return libc


def read_writer(pid: int, container_hint: str = HOST_CONTAINER_ID) -> Writer:
    """The process's exe, cmdline and container id read from /proc (empty once it exited)."""
    base = f"/proc/{pid}"
    try:
        exe = os.readlink(f"{base}/exe")
        cmdline = Path(f"{base}/cmdline").read_bytes().replace(b"\0", b" ").strip()
        cgroup = Path(f"{base}/cgroup").read_text()
    except OSError:
        return Writer(pid=pid, container_id=container_hint)
    found = _CONTAINER_ID.search(cgroup)
    container = found.group(0) if found else container_hint
    return Writer(pid, exe.removesuffix(" (deleted)"), cmdline.decode(errors="replace"), container)


class FanotifyWatcher:
    """One fanotify group marking the host's watched directories and container roots."""

    def __init__(self, policy: FimPolicy) -> None:
        self.policy = policy
        self._libc = _libc()
        self._fd = self._libc.fanotify_init(
            FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, os.O_RDONLY | os.O_LARGEFILE
        )
        if self._fd < 0:
            raise FimError(f"fanotify_init: {os.strerror(ctypes.get_errno())} (needs root)")
        self._roots: dict[int, tuple[str, str]] = {}  # overlay st_dev -> (mount, container id)
        self._writers: dict[int, tuple[float, Writer]] = {}

    def mark_host(self) -> int:
        """Mark every watched directory of the host; returns how many were marked."""
        dirs = {os.path.dirname(p) for p in watched_files("/", self.policy)}
        dirs |= {p for p in self.policy.paths if os.path.isdir(p)}
        mask = FAN_CLOSE_WRITE | FAN_EVENT_ON_CHILD
        return sum(self._mark(d, FAN_MARK_ADD, mask) for d in sorted(dirs))

    def mark_container(self, mount: str, container_id: str) -> bool:
        """Mark a container's overlay root (its whole filesystem)."""
        try:
            self._roots[os.stat(mount).st_dev] = (mount.rstrip("/"), container_id)
        except OSError:
            return False
        return self._mark(mount, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_CLOSE_WRITE)

    def _mark(self, path: str, flags: int, mask: int) -> bool:
        return bool(self._libc.fanotify_mark(self._fd, flags, mask, -100, path.encode()) == 0)

    def forget_container(self, mount: str) -> None:
        """Stop reporting a container that went away (its mark went with its filesystem)."""
        for dev, (root, _) in list(self._roots.items()):
            if root == mount.rstrip("/"):
                del self._roots[dev]

    def poll(self, timeout_s: float) -> list[Touch]:
        """Watched files written within `timeout_s`."""
        ready, _, _ = select.select([self._fd], [], [], max(timeout_s, 0))
        if not ready:
            return []
        try:
            data = os.read(self._fd, 256 * 1024)
        except BlockingIOError:
            return []
        return self._decode(data)

    def _decode(self, data: bytes) -> list[Touch]:
        touches: list[Touch] = []
        off = 0
        while off + _META.size <= len(data):
            length, _v, _r, _m, mask, fd, pid = _META.unpack_from(data, off)
            off += max(length, _META.size)
            if fd < 0:
                continue
            try:
                full = os.readlink(f"/proc/self/fd/{fd}")
                dev = os.fstat(fd).st_dev
            except OSError:
                continue
            finally:
                os.close(fd)
            touch = self._touch(full, dev, pid, bool(mask & FAN_CLOSE_WRITE))
            if touch is not None:
                touches.append(touch)
        return touches

    def _touch(self, full: str, dev: int, pid: int, closed: bool) -> Touch | None:
        # A file opened inside a container reads back as its path in the container (its
        # mount is not reachable from the agent's root); opened from the host, under the mount.
        root, inner, container = "/", full, str(HOST_CONTAINER_ID)
        if dev in self._roots:
            root, container = self._roots[dev]
            inner = full.removeprefix(root) or "/"
        if not self.policy.watched(inner):
            return None
        return Touch(root, inner, self._writer(pid, container), closed)

    def _writer(self, pid: int, container: str) -> Writer:
        now = time.monotonic()
        cached = self._writers.get(pid)
        if cached is not None and now - cached[0] < _WRITER_TTL_S:
            return cached[1]
        writer = read_writer(pid, container)
        if len(self._writers) > 1024:
            self._writers.clear()
        self._writers[pid] = (now, writer)
        return writer

    def close(self) -> None:
        """Close the group (its marks go with it)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
