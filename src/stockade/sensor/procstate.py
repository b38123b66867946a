"""What /proc tells about a process beyond who it is: environment, descriptors 0-2, limits,
memory, cgroups (Falco keeps these per thread; `ProcSnapshot` holds them here).

Every read tolerates the process vanishing half-way: what could not be read stays unset.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

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


def read_environ(pid: int, proc: Path = _PROC) -> tuple[str, ...]:
    """The process's environment as "KEY=value" entries (empty if unreadable)."""
    try:
        with open(proc / str(pid) / "environ", "rb") as f:
            raw = f.read(_ENVIRON_MAX)
    except OSError:
        return ()
    return tuple(item for item in raw.decode(errors="replace").split("\0") if item)


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
        path = proc / str(pid) / "fd" / str(num)
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
    for line in (procfs.read_text(proc / str(pid) / "limits") or "").splitlines():
        if line.startswith("Max open files"):
            soft = line.split()[3]
            return int(soft) if soft.isdigit() else -1
    return -1


def _fd_count(pid: int, proc: Path) -> int:
    try:
        return len(os.listdir(proc / str(pid) / "fd"))
    except OSError:
        return -1


def _status_numbers(pid: int, proc: Path) -> dict[str, int]:
    wanted = ("VmSize", "VmRSS", "VmSwap", "Threads")
    numbers: dict[str, int] = {}
    for line in (procfs.read_text(proc / str(pid) / "status") or "").splitlines():
        key, _, value = line.partition(":")
        if key in wanted and value.split():
            numbers[key] = int(value.split()[0])
    return numbers


def read_cgroups(pid: int, proc: Path = _PROC) -> tuple[tuple[str, str], ...]:
    """(subsystem, path) for each cgroup v1 subsystem; on a pure v2 host, each controller."""
    text = procfs.read_text(proc / str(pid) / "cgroup") or ""
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


def read_snapshot(pid: int, proc: Path = _PROC) -> ProcSnapshot | None:
    """Everything of `ProcSnapshot` for a live process; None if it is already gone."""
    stat_text = procfs.read_text(proc / str(pid) / "stat")
    if stat_text is None:
        return None
    rest = stat_text[stat_text.rindex(")") + 2 :].split()
    status = _status_numbers(pid, proc)
    return ProcSnapshot(
        pgid=int(rest[2]),
        fdlimit=_fdlimit(pid, proc),
        fd_count=_fd_count(pid, proc),
        vmsize_kb=status.get("VmSize", 0),
        vmrss_kb=status.get("VmRSS", 0),
        vmswap_kb=status.get("VmSwap", 0),
        pfmajor=int(rest[9]),
        pfminor=int(rest[7]),
        nthreads=status.get("Threads", -1),
        stdio=read_stdio(pid, proc),
        cgroups=read_cgroups(pid, proc),
    )
