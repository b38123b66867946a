"""What /proc tells about a process beyond who it is: environment, descriptors 0-2, limits,
memory, cgroups (Falco keeps these per thread; `ProcSnapshot` holds them here).

Every read tolerates the process vanishing half-way: what could not be read stays unset.
"""

from __future__ import annotations

import os
import resource
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from stockade.model import ProcSnapshot, StdFd
from stockade.sensor import procfs

_PROC = Path("/proc")
_ANON_TYPES = {
    "[eventfd]": "event",
    "[signalfd]": "signalfd",
    "[eventpoll]": "eventpoll",
    "inotify": "inotify",
    "[timerfd]": "timerfd",
    "[userfaultfd]": "userfaultfd",
    "[io_uring]": "io_uring",
    "[pidfd]": "pidfd",
}
_ENVIRON_MAX = 64 * 1024  # Falco keeps at most this much of a large environment
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
_TICKS = os.sysconf("SC_CLK_TCK")
# The processes of one container (or one login) share their environment and cgroups:
# the tree holds thousands of processes, so each distinct value is kept once.
_SHARED_MAX = 4096
T = TypeVar("T")


class _Shared(Generic[T]):
    """`parse(raw)`, the same value for the same bytes (a bounded table, cleared when full)."""

    def __init__(self, parse: Callable[[bytes], T]) -> None:
        self._parse = parse
        self._values: dict[bytes, T] = {}

    def __call__(self, raw: bytes) -> T:
        found = self._values.get(raw)
        if found is None:
            if len(self._values) >= _SHARED_MAX:
                self._values.clear()
            found = self._values[raw] = self._parse(raw)
        return found


def _read(path: str, limit: int = 65536) -> bytes | None:
    """A /proc file's bytes (one read: these files are generated whole), None if gone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_environ(pid: int, proc: Path = _PROC) -> tuple[str, ...]:
    """The process's environment as "KEY=value" entries (empty if unreadable)."""
    raw = _read(f"{proc}/{pid}/environ", _ENVIRON_MAX) or b""
    return _environ_entries(raw)


def _parse_environ(raw: bytes) -> tuple[str, ...]:
    return tuple(item for item in raw.decode(errors="replace").split("\0") if item)


_environ_entries = _Shared(_parse_environ)


def fd_type(link: str, mode: int) -> str:
    """Falco's fd.type for a /proc/PID/fd link target and the st_mode it points at."""
    if link.startswith("pipe:"):
        return "pipe"
    if link.startswith("socket:"):
        return "unix"  # refined by the caller where the socket tables say otherwise
    if link.startswith("anon_inode:"):
        kind = link.removeprefix("anon_inode:")
        return "bpf" if kind.startswith("bpf") else _ANON_TYPES.get(kind, "")
    if link.startswith("/memfd:"):
        return "memfd"
    return "directory" if stat.S_ISDIR(mode) else "file"


def _socket_families(pid: int, proc: Path) -> dict[str, str]:
    """socket:[inode] -> ipv4 / ipv6 for the IP sockets in the process's network namespace."""
    found: dict[str, str] = {}
    for table, family in (("tcp", "ipv4"), ("udp", "ipv4"), ("tcp6", "ipv6"), ("udp6", "ipv6")):
        text = procfs.read_text(proc / str(pid) / "net" / table) or ""
        for line in text.splitlines()[1:]:
            parts = line.split()
            if len(parts) > 9:
                found[f"socket:[{parts[9]}]"] = family
    return found


def read_stdio(pid: int, proc: Path = _PROC) -> tuple[StdFd, ...]:
    """Descriptors 0, 1 and 2 (type and name); fewer when the process is gone."""
    found: list[StdFd] = []
    families: dict[str, str] | None = None
    for num in range(3):
        path = f"{proc}/{pid}/fd/{num}"
        try:
            link = os.readlink(path)
            mode = os.stat(path).st_mode if link.startswith("/") else 0
        except OSError:
            found.append(StdFd())
            continue
        kind = fd_type(link, mode)
        if link.startswith("socket:"):
            families = families if families is not None else _socket_families(pid, proc)
            kind = families.get(link, kind)
        found.append(StdFd(type=kind, name=link.removesuffix(" (deleted)")))
    return tuple(found)


def _fdlimit(pid: int, proc: Path) -> int:
    """The soft RLIMIT_NOFILE: one prlimit call (formatting /proc/PID/limits costs more)."""
    if proc != _PROC:
        for line in (procfs.read_text(proc / str(pid) / "limits") or "").splitlines():
            if line.startswith("Max open files"):
                text = line.split()[3]
                return int(text) if text.isdigit() else -1
        return -1
    try:
        soft = resource.prlimit(pid, resource.RLIMIT_NOFILE)[0]
    except (OSError, ValueError):
        return -1
    return -1 if soft == resource.RLIM_INFINITY else soft


def _fd_count(pid: int, proc: Path) -> int:
    try:
        return len(os.listdir(proc / str(pid) / "fd"))
    except OSError:
        return -1


def read_cgroups(pid: int, proc: Path = _PROC) -> tuple[tuple[str, str], ...]:
    """(subsystem, path) for each cgroup v1 subsystem; on a pure v2 host, each controller."""
    raw = _read(f"{proc}/{pid}/cgroup") or b""
    return _cgroup_entries(raw)


def _parse_cgroups(raw: bytes) -> tuple[tuple[str, str], ...]:
    text = raw.decode(errors="replace")
    found: list[tuple[str, str]] = []
    unified = ""
    for line in text.splitlines():
        _, subsystems, path = line.split(":", 2)
        if not subsystems:
            unified = path
        found.extend((name, path) for name in subsystems.split(",") if name)
    if not found and unified:
        root = procfs.cgroup2_root()
        controllers = procfs.read_text(root / "cgroup.controllers") if root else None
        found = [(name, unified) for name in (controllers or "").split()]
    return tuple(found)


_cgroup_entries = _Shared(_parse_cgroups)


def read_snapshot(pid: int, proc: Path = _PROC) -> ProcSnapshot | None:
    """Everything of `ProcSnapshot` for a live process; None if it is already gone.

    Memory and threads come from /proc/PID/stat, read anyway (status would cost another
    read per exec): swap is not there, so proc.vmswap stays unread (-1).
    """
    raw = _read(f"{proc}/{pid}/stat")
    if raw is None:
        return None
    rest = raw[raw.rindex(b")") + 2 :].split()
    user, system = _last_second_cpu(int(rest[11]), int(rest[12]), int(rest[19]))
    return ProcSnapshot(
        pgid=int(rest[2]),
        fdlimit=_fdlimit(pid, proc),
        fd_count=_fd_count(pid, proc),
        vmsize_kb=int(rest[20]) // 1024,
        vmrss_kb=int(rest[21]) * _PAGE_KB,
        pfmajor=int(rest[9]),
        pfminor=int(rest[7]),
        nthreads=int(rest[17]),
        stdio=read_stdio(pid, proc),
        cgroups=read_cgroups(pid, proc),
        cpu_user_pct=user,
        cpu_system_pct=system,
    )


def _last_second_cpu(utime: int, stime: int, start_ticks: int) -> tuple[float, float]:
    """User and system CPU per second, in % of one CPU as Falco's thread.cpu.* count it
    (clock ticks at 100 Hz, at most 100), from /proc's totals: for a thread younger than a
    second (most at exec) exactly its last second, its whole life; for an older one its
    mean second (/proc keeps no history)."""
    age = time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / _TICKS
    per_second = 100 / _TICKS / max(age, 1.0)
    return min(utime * per_second, 100.0), min(stime * per_second, 100.0)


def read_ipv4(pid: int, proc: Path = _PROC) -> str:
    """The first IPv4 address local to the network namespace of `pid`, loopback aside
    (the kernel's routing trie lists each as "|-- ADDR" over "/32 host LOCAL")."""
    text = (_read(f"{proc}/{pid}/net/fib_trie", 1 << 20) or b"").decode(errors="replace")
    previous = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == "/32 host LOCAL" and previous and not previous.startswith("127."):
            return previous
        previous = stripped[4:] if stripped.startswith("|-- ") else ""
    return ""
