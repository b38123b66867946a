"""`FanotifySource`: file writes seen by fanotify on container overlay filesystems.

A fallback for when eBPF cannot load. Each overlay mount (a container's root) gets a
FAN_MARK_FILESYSTEM mark, so writes through any mount of it, in any namespace, are seen.
FAN_MODIFY is reported as Falco's `write`, FAN_CLOSE_WRITE as `close`; fd.name is the path
as the host sees it, and proc carries the writer's pid and cgroup id.
"""

from __future__ import annotations

import ctypes
import os
import select
import time
from collections.abc import Iterable
from pathlib import Path

from stockade.fanotify import (
    AT_FDCWD,
    FAN_CLASS_NOTIF,
    FAN_CLOEXEC,
    FAN_CLOSE_WRITE,
    FAN_MARK_ADD,
    FAN_MARK_FILESYSTEM,
    FAN_MODIFY,
    FAN_NONBLOCK,
    FAN_Q_OVERFLOW,
    METADATA,
    fanotify_libc,
    last_error,
)
from stockade.model import Event, EventType, FdInfo, Process
from stockade.sensor.base import (
    ALL_EVENT_TYPES,
    SOURCES,
    EventSource,
    SensorError,
    SensorStats,
    SensorUnavailable,
)

_MOUNT_RESCAN_S = 0.5


def overlay_mounts(mountinfo: str) -> set[str]:
    """Mount points of overlay filesystems in a /proc/PID/mountinfo text."""
    found = set()
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        if right.split(" ", 1)[0] == "overlay":
            found.add(left.split(" ")[4].replace("\\040", " "))
    return found


def cgroup_id_of(pid: int) -> int:
    """The cgroup v2 id (inode of the `0::` cgroup directory) of a live process, else 0."""
    try:
        text = Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("0::"):
            for root in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
                try:
                    return os.stat(root + line[3:]).st_ino
                except OSError:
                    continue
    return 0


class FanotifySource(EventSource):
    """Writes on container (overlay) filesystems and any extra paths given."""

    id = "fanotify"

    def __init__(
        self,
        event_types: Iterable[EventType] = ALL_EVENT_TYPES,  # noqa: ARG002 (it sees writes only)
        *,
        extra_paths: tuple[str, ...] = (),
    ) -> None:
        self._extra = extra_paths
        self._fd = -1
        self._marked: set[str] = set()
        self._last_scan = 0.0
        self._stats = SensorStats()
        self._libc: ctypes.CDLL | None = None
        self._dev_cgroup: dict[int, int] = {}  # overlay st_dev -> a cgroup id seen using it

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """None where fanotify filesystem marks can be used (root, kernel support)."""
        if os.geteuid() != 0:
            return "fanotify filesystem marks need root (CAP_SYS_ADMIN)"
        fd = fanotify_libc().fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, os.O_RDONLY)
        if fd < 0:
            return f"fanotify_init failed: {last_error()}"
        os.close(fd)
        return None

    def start(self) -> None:
        """Open the fanotify group and mark the overlay filesystems present now."""
        if reason := self.unavailable_reason():
            raise SensorUnavailable(reason)
        self._libc = fanotify_libc()
        flags = FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK
        self._fd = self._libc.fanotify_init(flags, os.O_RDONLY | os.O_LARGEFILE)
        if self._fd < 0:
            raise SensorUnavailable(f"fanotify_init: {last_error()}")
        for path in self._extra:
            self._mark(path)
        self._rescan(force=True)

    def _mark(self, path: str) -> None:
        assert self._libc is not None
        mask = FAN_MODIFY | FAN_CLOSE_WRITE
        flags = FAN_MARK_ADD | FAN_MARK_FILESYSTEM
        if self._libc.fanotify_mark(self._fd, flags, mask, AT_FDCWD, path.encode()) == 0:
            self._marked.add(path)

    def _rescan(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_scan < _MOUNT_RESCAN_S:
            return
        self._last_scan = now
        try:
            mounts = overlay_mounts(Path("/proc/self/mountinfo").read_text())
        except OSError:
            return
        for path in mounts - self._marked:
            self._mark(path)

    @property
    def marked(self) -> set[str]:
        """Paths whose filesystems carry a mark."""
        return set(self._marked)

    def poll(self, timeout_s: float) -> list[Event]:
        """Wait up to `timeout_s` for fanotify events; picks up new overlay mounts too."""
        if self._fd < 0:
            raise SensorError("FanotifySource.poll before start")
        self._rescan()
        ready, _, _ = select.select([self._fd], [], [], max(timeout_s, 0))
        if not ready:
            return []
        try:
            data = os.read(self._fd, 256 * 1024)
        except BlockingIOError:
            return []
        return self._decode(data)

    def _decode(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        off = 0
        while off + METADATA.size <= len(data):
            length, _vers, _res, _mlen, mask, fd, pid = METADATA.unpack_from(data, off)
            off += max(length, METADATA.size)
            if mask & FAN_Q_OVERFLOW:
                self._stats.dropped += 1
            if fd < 0:
                continue
            try:
                path = os.readlink(f"/proc/self/fd/{fd}")
                dev = os.fstat(fd).st_dev
            except OSError:
                path, dev = "", 0
            finally:
                os.close(fd)
            cgroup = cgroup_id_of(pid) or self._cgroup_of_dev(dev)
            for bit, type_ in ((FAN_MODIFY, "write"), (FAN_CLOSE_WRITE, "close")):
                if mask & bit:
                    events.append(self._event(type_, pid, cgroup, path))
        return events

    def _cgroup_of_dev(self, dev: int) -> int:
        """The writer is gone: attribute by a live process whose root is this filesystem."""
        if dev in self._dev_cgroup or not dev:
            return self._dev_cgroup.get(dev, 0)
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                if os.stat(f"/proc/{entry.name}/root").st_dev != dev:
                    continue
            except OSError:
                continue
            if cgroup := cgroup_id_of(int(entry.name)):
                self._dev_cgroup[dev] = cgroup
                return cgroup
        return 0

    def _event(self, type_: str, pid: int, cgroup_id: int, path: str) -> Event:
        by_type = self._stats.events_by_type
        by_type[type_] = by_type.get(type_, 0) + 1
        proc = Process(pid=pid, cgroup_id=cgroup_id)
        fd = FdInfo(type="file", name=path, flags=os.O_WRONLY)
        args = {"fd": -1, "name": path}
        return Event(type=type_, ts=time.time_ns(), proc=proc, fd=fd, args=args, source=self.id)

    def stop(self) -> None:
        """Close the fanotify group (its marks go with it)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._marked.clear()

    def stats(self) -> SensorStats:
        """Events by type; `dropped` counts queue overflows."""
        return self._stats


SOURCES.register(FanotifySource.id, FanotifySource)
