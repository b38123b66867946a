"""Reading processes from /proc: one process at exec time, or a one-shot scan of all.

Every read tolerates the process vanishing half-way (short-lived processes): what could be
read is returned, what could not stays at the `Process` defaults.
"""

from __future__ import annotations

import os
import time
from functools import cache
from pathlib import Path

from stockade.model import Process

_CLK_TCK = os.sysconf("SC_CLK_TCK")
# Wall-clock time of boot, from the same clock /proc/PID/stat start times count on.
BOOT_EPOCH_NS = time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


@cache
def cgroup2_root(mounts: str = "/proc/self/mounts") -> Path | None:
    """Where the cgroup v2 hierarchy is mounted (pure v2 or hybrid 'unified'), if at all."""
    try:
        text = Path(mounts).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[2] == "cgroup2":
            return Path(parts[1])
    return None


def cgroup_path(pid: int, proc: Path = Path("/proc")) -> str | None:
    """The process's cgroup v2 path (the `0::` line of /proc/PID/cgroup)."""
    try:
        text = (proc / str(pid) / "cgroup").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("0::"):
            return line[3:]
    return None


def cgroup_id_of_path(path: str) -> int:
    """The cgroup id of a cgroup v2 path: the inode of its directory (0 when unknown)."""
    root = cgroup2_root()
    if root is None:
        return 0
    try:
        return (root / path.lstrip("/")).stat().st_ino
    except OSError:
        return 0


def cgroup_id(pid: int, proc: Path = Path("/proc")) -> int:
    """The cgroup v2 id of a process (what bpf_get_current_cgroup_id() returns)."""
    path = cgroup_path(pid, proc)
    return 0 if path is None else cgroup_id_of_path(path)


def read_text(path: Path) -> str | None:
    """The text of a /proc file, None when it cannot be read (the process is gone)."""
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def _readlink(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _parse_stat(text: str) -> dict[str, int]:
    # comm is in parentheses and may itself contain spaces and ')'.
    rest = text[text.rindex(")") + 2 :].split()
    return {
        "ppid": int(rest[1]),
        "pgrp": int(rest[2]),
        "sid": int(rest[3]),
        "tty": int(rest[4]),
        "starttime": int(rest[19]),
    }


def start_ns_from_ticks(ticks: int) -> int:
    """Convert /proc/PID/stat starttime (clock ticks since boot) to ns since the epoch."""
    return BOOT_EPOCH_NS + ticks * (1_000_000_000 // _CLK_TCK)


def read_start_ns(pid: int, proc: Path = Path("/proc")) -> int:
    """The start time of a process (ns since the epoch), 0 if it is gone."""
    text = read_text(proc / str(pid) / "stat")
    if text is None:
        return 0
    try:
        return start_ns_from_ticks(_parse_stat(text)["starttime"])
    except (ValueError, IndexError):
        return 0


def _apply_status(fields: dict[str, object], text: str) -> None:
    for line in text.splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if key == "Uid" and len(parts) >= 2:
            fields["uid"], fields["euid"] = int(parts[0]), int(parts[1])
        elif key == "Gid" and len(parts) >= 2:
            fields["gid"], fields["egid"] = int(parts[0]), int(parts[1])
        elif key == "NSpid" and parts:
            fields["vpid"] = int(parts[-1])
        elif key == "NSpgid" and parts:
            fields["vpgid"] = int(parts[-1])
        elif key in ("CapEff", "CapPrm", "CapInh") and parts:
            name = {"CapEff": "effective", "CapPrm": "permitted", "CapInh": "inheritable"}[key]
            fields[f"cap_{name}"] = int(parts[0], 16)


class UserNames:
    """Resolves uids and gids through the passwd and group files the process sees (its
    container's, through /proc/PID/root), re-read when such a file changes."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int, int, int], dict[int, tuple[str, ...]]] = {}

    def lookup(self, pid: int, uid: int, proc: Path = Path("/proc")) -> str:
        """The user name of `uid` inside the root filesystem of `pid`; "" if unknown."""
        return self.account(pid, uid, proc)[0]

    def account(self, pid: int, uid: int, proc: Path = Path("/proc")) -> tuple[str, str, str]:
        """(name, home directory, shell) of `uid` inside the root of `pid`; "" if unknown."""
        entry = self._entries(proc / str(pid) / "root" / "etc" / "passwd").get(uid)
        if entry is None:
            return "", "", ""
        return entry[0], _field(entry, 5), _field(entry, 6)

    def group(self, pid: int, gid: int, proc: Path = Path("/proc")) -> str:
        """The group name of `gid` inside the root filesystem of `pid`; "" if unknown."""
        entry = self._entries(proc / str(pid) / "root" / "etc" / "group").get(gid)
        return "" if entry is None else entry[0]

    def _entries(self, path: Path) -> dict[int, tuple[str, ...]]:
        """id -> fields of a passwd or group file (name:x:id:...); empty if unreadable."""
        try:
            st = path.stat()
        except OSError:
            return {}
        key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
        table = self._cache.get(key)
        if table is None:
            table = {}
            for line in (read_text(path) or "").splitlines():
                parts = line.split(":")
                if len(parts) > 2 and parts[2].isdigit():
                    table.setdefault(int(parts[2]), tuple(parts))
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = table
        return table


def _field(entry: tuple[str, ...], index: int) -> str:
    return entry[index] if len(entry) > index else ""


def read_process(
    pid: int, users: UserNames | None = None, proc: Path = Path("/proc")
) -> Process | None:
    """Everything /proc tells about a process; None if it is already gone."""
    base = proc / str(pid)
    stat_text = read_text(base / "stat")
    if stat_text is None:
        return None
    fields: dict[str, object] = {"pid": pid, "tid": pid}
    try:
        stat = _parse_stat(stat_text)
    except (ValueError, IndexError):
        return None
    fields.update(ppid=stat["ppid"], sid=stat["sid"], vpgid=stat["pgrp"], tty=stat["tty"])
    fields["start_ns"] = start_ns_from_ticks(stat["starttime"])
    fields["name"] = (read_text(base / "comm") or "").rstrip("\n")
    fields["exepath"] = _readlink(base / "exe").removesuffix(" (deleted)")
    fields["cwd"] = _readlink(base / "cwd")
    cmdline = read_text(base / "cmdline") or ""
    fields["argv"] = tuple(cmdline.rstrip("\0").split("\0")) if cmdline else ()
    status = read_text(base / "status")
    if status is not None:
        _apply_status(fields, status)
    loginuid = (read_text(base / "loginuid") or "").strip()
    if loginuid.isdigit():
        fields["loginuid"] = -1 if int(loginuid) == 0xFFFFFFFF else int(loginuid)
    fields["exe_from_memfd"] = str(fields["exepath"]).startswith("/memfd:")
    if fields["exe_from_memfd"]:
        fields["exepath"] = memfd_exepath(str(fields["exepath"]))
    fields["cgroup_id"] = cgroup_id(pid, proc)
    from stockade.sensor import procstate  # it reads through this module's helpers

    fields["env"] = procstate.read_environ(pid, proc)
    fields["snapshot"] = procstate.read_snapshot(pid, proc)
    process = Process(**fields)  # type: ignore[arg-type]
    if users is not None and process.euid >= 0:
        process.user, process.homedir, process.shell = users.account(pid, process.euid, proc)
        process.group = users.group(pid, process.egid, proc) if process.egid >= 0 else ""
    return process


def readlink_exe(pid: int, proc: Path = Path("/proc")) -> str:
    """The target of /proc/PID/exe ("" when the process is gone)."""
    return _readlink(proc / str(pid) / "exe")


def memfd_exepath(link: str) -> str:
    """Falco's proc.exepath of a program run from a memfd: "memfd:NAME" (the link of
    /proc/PID/exe reads "/memfd:NAME (deleted)")."""
    return link.removesuffix(" (deleted)").removeprefix("/")


def scan(proc: Path = Path("/proc")) -> list[Process]:
    """A one-shot snapshot of every process (thread groups only), parents first."""
    users = UserNames()
    found: list[Process] = []
    for entry in proc.iterdir():
        if entry.name.isdigit():
            process = read_process(int(entry.name), users, proc)
            if process is not None:
                found.append(process)
    found.sort(key=lambda p: (p.start_ns, p.pid))
    return found
