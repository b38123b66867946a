"""Process details the sensor does not carry, read from /proc by the context stage: the
environment and `ProcSnapshot` at exec, and user and group names for the ids an event has.

User names follow Falco: `user.name` is the name of the effective uid (Falco's `user.uid`)
in the passwd file of the process's own root (its container's), looked up again whenever
the ids change (after setuid and friends) and re-read at each exec.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from stockade.model import Process
from stockade.sensor import procfs, procstate

_NAMES_MAX = 16_384
_Key = tuple[int, int, int, int]  # cgroup id, euid, egid, loginuid
_Names = tuple[str, str, str, str, str]  # user, group, login name, home directory, shell
_UNKNOWN: _Names = ("", "", "", "", "")


class ProcessDetails(Protocol):
    """What the context stage asks of /proc (a fake stands in for it in tests)."""

    def at_exec(self, proc: Process) -> Process:
        """`proc` of an exec event with what only /proc knows filled in."""
        ...

    def named(self, proc: Process, *, fresh: bool = False) -> Process:
        """`proc` with user (name, home, shell), group and login names for its ids (re-read
        when `fresh`)."""
        ...


class ProcfsDetails:
    """`ProcessDetails` from this host's /proc."""

    def __init__(self) -> None:
        self._users = procfs.UserNames()
        self._names: dict[_Key, _Names] = {}

    def at_exec(self, proc: Process) -> Process:
        """Environment, snapshot and (for a memfd) the exe path, read while it runs."""
        changes: dict[str, object] = {}
        if not proc.env:
            changes["env"] = procstate.read_environ(proc.pid)
        snapshot = procstate.read_snapshot(proc.pid)
        if snapshot is not None:
            changes["snapshot"] = snapshot
        if proc.exe_from_memfd and not proc.exepath.startswith("memfd:"):
            # the sensor gives "/memfd:NAME"; an older one gave "/" (then ask /proc)
            link = proc.exepath
            if not link.startswith("/memfd:"):
                link = procfs.readlink_exe(proc.pid)
            if link.startswith("/memfd:"):
                changes["exepath"] = procfs.memfd_exepath(link)
        return msgspec.structs.replace(proc, **changes) if changes else proc

    def named(self, proc: Process, *, fresh: bool = False) -> Process:
        """`proc` with the names of its effective uid and gid and of its login uid."""
        euid = proc.euid if proc.euid >= 0 else proc.uid
        egid = proc.egid if proc.egid >= 0 else proc.gid
        key = (proc.cgroup_id, euid, egid, proc.loginuid)
        names = None if fresh else self._names.get(key)
        if names is None:
            names = self._lookup(proc, euid, egid)
            if names != _UNKNOWN:  # a process gone too soon must not hide the names for good
                if len(self._names) >= _NAMES_MAX:
                    self._names.clear()
                self._names[key] = names
        user, group, login, home, shell = names
        if (proc.user, proc.group, proc.loginname, proc.homedir, proc.shell) == names:
            return proc
        return msgspec.structs.replace(
            proc, user=user, group=group, loginname=login, homedir=home, shell=shell
        )

    def _lookup(self, proc: Process, euid: int, egid: int) -> _Names:
        """Read the names through the process's root, else through its parent's when the
        parent is in the same cgroup (the process may be gone; a parent outside, such as a
        container runtime's, sees another passwd)."""
        for pid in (proc.pid, proc.ppid):
            if pid <= 0 or (pid != proc.pid and procfs.cgroup_id(pid) != proc.cgroup_id):
                continue
            user, home, shell = self._users.account(pid, euid) if euid >= 0 else _UNKNOWN[:3]
            group = self._users.group(pid, egid) if egid >= 0 else ""
            login = self._users.lookup(pid, proc.loginuid) if proc.loginuid >= 0 else ""
            if user or group or login:
                return user, group, login, home, shell
        return _UNKNOWN
