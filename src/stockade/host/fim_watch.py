"""Real-time FIM through fanotify: which watched file changed, how, and by whom.

One fanotify group in FID mode (FAN_REPORT_DFID_NAME) holds an inode mark on every watched
directory of the host and of each container's overlay root (overlayfs takes inode marks
in FID mode, not filesystem marks). Each event names its directory by file handle and the
child by name, so no file is opened per event: the directory is found by the (fsid,
handle) recorded when it was marked. Asked for: a write closed (FAN_CLOSE_WRITE: the file
is complete and can be hashed), creation, deletion, attribute changes and both halves of a
rename, so a dropped file, a removed one or a chmod is seen live. A directory created
under a watched path is marked at once and its files reported. Writes elsewhere on the same
filesystems never reach the agent. Events are read at most every 0.25 s: meanwhile the
kernel merges a file's repeated changes into one event. If the kernel's queue overflows,
`overflowed` is set and the monitor rescans.
"""

from __future__ import annotations

import ctypes
import os
import re
import select
import struct
import time
from dataclasses import dataclass, replace
from pathlib import Path

from stockade.fanotify import (
    AT_FDCWD,
    FAN_CLASS_NOTIF,
    FAN_CLOEXEC,
    FAN_CLOSE_WRITE,
    FAN_MARK_ADD,
    FAN_NONBLOCK,
    FAN_Q_OVERFLOW,
    METADATA,
    fanotify_libc,
    last_error,
)
from stockade.host.fim_alerts import Writer
from stockade.host.fim_policy import FimError, FimPolicy
from stockade.host.fim_scan import watched_dirs
from stockade.model import HOST_CONTAINER_ID

FAN_REPORT_DFID_NAME = 0x400 | 0x800  # FAN_REPORT_DIR_FID | FAN_REPORT_NAME
FAN_ATTRIB, FAN_MOVED_FROM, FAN_MOVED_TO, FAN_CREATE, FAN_DELETE = 0x4, 0x40, 0x80, 0x100, 0x200
FAN_ONDIR, FAN_EVENT_ON_CHILD = 0x40000000, 0x08000000
CHANGES = FAN_ATTRIB | FAN_CLOSE_WRITE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_CREATE | FAN_DELETE
MARK_MASK = CHANGES | FAN_ONDIR | FAN_EVENT_ON_CHILD
APPEARED = FAN_CREATE | FAN_MOVED_TO
FAN_EVENT_INFO_TYPE_DFID_NAME = 2
AT_HANDLE_FID = 0x200  # a handle to compare, never to open
MAX_HANDLE = 128
_INFO = struct.Struct("<BBH8sIi")  # header, fsid, then the file handle's size and type
_CONTAINER_ID = re.compile(r"[0-9a-f]{64}")
_WRITER_TTL_S = 1.0
READ_EVERY_S = 0.25  # well inside the monitor's 0.5 s coalescing window
DirKey = tuple[bytes, int, bytes]  # fsid, handle type, handle


@dataclass(frozen=True, slots=True)
class Touch:
    """A watched file changed: its root, its path inside that root, and who changed it."""

    root: str  # "/" for the host, else the container's overlay mount
    path: str
    writer: Writer


@dataclass(frozen=True, slots=True)
class _Dir:
    root: str
    path: str  # inside the root
    container_id: str


class _FileHandle(ctypes.Structure):
    _fields_ = [
        ("handle_bytes", ctypes.c_uint),
        ("handle_type", ctypes.c_int),
        ("f_handle", ctypes.c_ubyte * MAX_HANDLE),
    ]


def _libc() -> ctypes.CDLL:
    libc = fanotify_libc()
    libc.name_to_handle_at.argtypes = [
        ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_FileHandle),
        ctypes.POINTER(ctypes.c_int), ctypes.c_int,
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
    """One FID-mode fanotify group marking the watched directories of the host and containers."""

    def __init__(self, policy: FimPolicy) -> None:
        self.policy = policy
        self.overflowed = False  # the kernel dropped events: the caller should rescan
        self._libc = _libc()
        self._fd = self._libc.fanotify_init(
            FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME,
            os.O_RDONLY | os.O_LARGEFILE,
        )
        if self._fd < 0:
            raise FimError(f"fanotify_init: {last_error()} (needs root)")
        self._dirs: dict[DirKey, _Dir] = {}
        self._writers: dict[int, tuple[float, Writer]] = {}
        self._last_read = 0.0

    def mark_host(self) -> int:
        """Mark every watched directory of the host; returns how many were marked."""
        return self._mark_tree("/", str(HOST_CONTAINER_ID))

    def mark_container(self, mount: str, container_id: str) -> bool:
        """Mark the watched directories inside a container's overlay root."""
        return self._mark_tree(mount.rstrip("/"), container_id) > 0

    def _mark_tree(self, root: str, container_id: str) -> int:
        return sum(self._mark(root, d, container_id) for d in watched_dirs(root, self.policy))

    def _mark(self, root: str, inner: str, container_id: str) -> bool:
        full = (root.rstrip("/") + inner) or "/"
        key = self._key(full)
        if key is None:
            return False
        if self._libc.fanotify_mark(self._fd, FAN_MARK_ADD, MARK_MASK, AT_FDCWD, full.encode()):
            return False
        self._dirs[key] = _Dir(root, inner, container_id)
        return True

    def _key(self, full: str) -> DirKey | None:
        handle, mount_id = _FileHandle(), ctypes.c_int()
        handle.handle_bytes = MAX_HANDLE
        found = self._libc.name_to_handle_at(
            AT_FDCWD, full.encode(), ctypes.byref(handle), ctypes.byref(mount_id), AT_HANDLE_FID
        )
        try:
            fsid = struct.pack("<Q", os.statvfs(full).f_fsid)
        except OSError:
            return None
        if found != 0:
            return None
        return fsid, handle.handle_type, bytes(handle.f_handle[: handle.handle_bytes])

    def forget_container(self, mount: str) -> None:
        """Stop reporting a container that went away (its marks went with its filesystem)."""
        root = mount.rstrip("/")
        for key in [k for k, d in self._dirs.items() if d.root == root]:
            del self._dirs[key]

    def poll(self, timeout_s: float) -> list[Touch]:
        """Watched files changed within `timeout_s` (read at most every READ_EVERY_S)."""
        ready, _, _ = select.select([self._fd], [], [], max(timeout_s, 0))
        if not ready:
            return []
        rest = self._last_read + READ_EVERY_S - time.monotonic()
        if rest > 0:  # the kernel merges a file's repeated changes while they wait unread
            time.sleep(min(rest, READ_EVERY_S))
        self._last_read = time.monotonic()
        try:
            data = os.read(self._fd, 256 * 1024)
        except BlockingIOError:
            return []
        return self._decode(data)

    def _decode(self, data: bytes) -> list[Touch]:
        touches: list[Touch] = []
        off = 0
        while off + METADATA.size <= len(data):
            length, _v, _r, meta_len, mask, _fd, pid = METADATA.unpack_from(data, off)
            end, info = off + max(length, METADATA.size), off + meta_len
            off = end
            if mask & FAN_Q_OVERFLOW:
                self.overflowed = True
                continue
            if info + _INFO.size > end:
                continue
            kind, _pad, info_len, fsid, size, handle_type = _INFO.unpack_from(data, info)
            if kind != FAN_EVENT_INFO_TYPE_DFID_NAME:
                continue
            handle_at = info + _INFO.size
            parent = self._dirs.get((fsid, handle_type, data[handle_at : handle_at + size]))
            name = data[handle_at + size : info + info_len].split(b"\0", 1)[0]
            if parent is None or name in (b"", b"."):
                continue
            path = parent.path.rstrip("/") + "/" + os.fsdecode(name)
            if mask & FAN_ONDIR:
                if mask & APPEARED:
                    touches += self._new_dir(parent, path, pid)
                continue
            if self.policy.watched(path):
                touches.append(Touch(parent.root, path, self._writer(pid, parent.container_id)))
        return touches

    def _new_dir(self, parent: _Dir, path: str, pid: int) -> list[Touch]:
        """Mark a directory that appeared under a watched one; its files are changes too."""
        if self.policy.ignored(path):
            return []
        for inner in watched_dirs(parent.root, _only(self.policy, path)):
            self._mark(parent.root, inner, parent.container_id)
        prefix = parent.root.rstrip("/")
        writer = self._writer(pid, parent.container_id)
        touches = []
        for dirpath, _dirs, files in os.walk(prefix + path):
            for name in files:
                inner = dirpath.removeprefix(prefix) + "/" + name
                if self.policy.watched(inner):
                    touches.append(Touch(parent.root, inner, writer))
        return touches

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


def _only(policy: FimPolicy, path: str) -> FimPolicy:
    """The policy narrowed to one new directory (to mark its subtree)."""
    return replace(policy, paths=(path,))
