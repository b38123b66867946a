"""proc.* fields that look along the ancestors or at the pid namespace: proc.aenv,
proc.loginshellid, proc.pvpid, proc.pgid*, proc.pidns_init_start_ts."""

from __future__ import annotations

import time
from typing import Any

from stockade.model import Ancestor, Event, Process
from stockade.rules.fields.base import ArgKind, Extractor, FieldDef, FieldTable, FieldType, simple

# Wall-clock time of boot: when the host's pid namespace began (its init's start).
BOOT_NS = time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)
_AENV_LEVELS = 20  # Falco looks this far up for proc.aenv[NAME]


def _env_value(env: tuple[str, ...], name: str) -> str:
    prefix = f"{name}="
    return next((item[len(prefix) :] for item in env if item.startswith(prefix)), "")


def _aenv(arg: str | None) -> Extractor:
    """All of proc.env; [N] the env of ancestor N; [NAME] the first value up the lineage."""
    if arg is None or arg == "0":
        return lambda e: " ".join(e.proc.env)
    if arg.isdigit():
        level = int(arg)
        return lambda e: " ".join(e.ancestors[level - 1].env) if level <= len(e.ancestors) else None

    def by_name(e: Event) -> str:
        for ancestor in e.ancestors[:_AENV_LEVELS]:
            value = _env_value(ancestor.env, arg)
            if value:
                return value
        return ""

    return by_name


def _loginshellid(e: Event) -> int | None:
    """The pid of the eldest shell (a name ending in "sh") among the process and its ancestors."""
    found = e.proc.pid if e.proc.name.endswith("sh") else None
    for ancestor in e.ancestors:
        if ancestor.name.endswith("sh"):
            found = ancestor.pid
    return found


def _pgid(p: Process) -> int | None:
    snapshot = p.snapshot
    return None if snapshot is None or snapshot.pgid < 0 else snapshot.pgid


def _pgid_leader(attr: str) -> Extractor:
    """The process group leader: the process itself, or the ancestor whose pid is the pgid."""

    def of(node: Process | Ancestor) -> Any:
        if attr == "exe":
            return node.argv[0] if node.argv else node.name
        return getattr(node, attr)

    def extract(e: Event) -> Any:
        pgid = _pgid(e.proc)
        if pgid is None:
            return None
        if pgid == e.proc.pid:
            return of(e.proc)
        return next((of(a) for a in e.ancestors if a.pid == pgid), None)

    return extract


def pidns_start(e: Event) -> int:
    """When the process's pid namespace began: its container's start, else the boot."""
    return e.container.start_ts if not e.container.is_host and e.container.start_ts else BOOT_NS


def _ctime_after_pidns(e: Event) -> int | None:
    ctime, start = e.proc.exe_ino_ctime, pidns_start(e)
    return ctime - start if ctime and ctime > start else None


def register(t: FieldTable) -> None:
    """Add the lineage and pid-namespace proc.* fields to `t`."""
    S, INT = FieldType.STRING, FieldType.INT64
    t.add(
        FieldDef(
            "proc.aenv",
            S,
            "env; [N] of ancestor N; [NAME] first value up the lineage",
            _aenv,
            ArgKind.OPTIONAL_KEY,
        )
    )
    simple(t, "proc.loginshellid", INT, "pid of the eldest shell in the lineage", _loginshellid)
    simple(t, "proc.pvpid", INT, "parent's pid in its namespace",
           lambda e: (e.ancestors[0].vpid or None) if e.ancestors else None)  # fmt: skip
    simple(t, "proc.pgid", INT, "process group id, host namespace", lambda e: _pgid(e.proc))
    simple(t, "proc.pgid.name", S, "group leader's name", _pgid_leader("name"))
    simple(t, "proc.pgid.exe", S, "group leader's exe", _pgid_leader("exe"))
    simple(t, "proc.pgid.exepath", S, "group leader's path", _pgid_leader("exepath"))
    simple(t, "proc.is_pgid_leader", FieldType.BOOL, "pgid == pid",
           lambda e: None if (g := _pgid(e.proc)) is None else g == e.proc.pid)  # fmt: skip
    simple(t, "proc.pidns_init_start_ts", FieldType.UINT64, "pid namespace start, ns",
           pidns_start)  # fmt: skip
    simple(t, "proc.exe_ino.ctime_duration_pidns_start", FieldType.ABSTIME,
           "exe ctime minus pid namespace start, when later", _ctime_after_pidns)  # fmt: skip
