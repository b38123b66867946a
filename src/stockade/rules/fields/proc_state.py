"""proc.* and thread.* fields read from /proc at exec (Process.snapshot): descriptors,
limits, memory, threads, cgroups. None where the agent could not read them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stockade.model import Event, ProcSnapshot
from stockade.rules.fields.base import ArgKind, Extractor, FieldDef, FieldTable, FieldType, simple

_STDIO = ("stdin", "stdout", "stderr")


def _snap(fn: Callable[[ProcSnapshot], Any]) -> Extractor:
    """An extractor over the snapshot; None without one or for a value not read (-1)."""

    def extract(e: Event) -> Any:
        snapshot = e.proc.snapshot
        if snapshot is None:
            return None
        value = fn(snapshot)
        return None if value == -1 else value

    return extract


def _fdusage(s: ProcSnapshot) -> float:
    return s.fd_count / s.fdlimit if s.fd_count >= 0 and s.fdlimit > 0 else -1


def _std(num: int, attr: str) -> Extractor:
    def extract(e: Event) -> str | None:
        snapshot = e.proc.snapshot
        if snapshot is None or num >= len(snapshot.stdio):
            return None
        return getattr(snapshot.stdio[num], attr) or None

    return extract


def _is_main(e: Event) -> bool:
    return e.proc.tid in (0, e.proc.pid)


def _main_only(attr: str) -> Extractor:
    """The process's value for its main thread, 0 for the others (as Falco has it)."""
    read = _snap(lambda s: getattr(s, attr))
    return lambda e: read(e) if _is_main(e) else 0


def _cgroups(s: ProcSnapshot) -> str | int:
    return " ".join(f"{name}={path}" for name, path in s.cgroups) if s.cgroups else -1


def _cgroup(arg: str | None) -> Extractor:
    def pick(s: ProcSnapshot) -> str | int:
        return next((path for name, path in s.cgroups if name == arg), -1)

    return _snap(pick)


def register(t: FieldTable) -> None:
    """Add the /proc-snapshot proc.* and thread.* fields to `t`."""
    U64, INT, S = FieldType.UINT64, FieldType.INT64, FieldType.STRING
    simple(t, "proc.fdopencount", U64, "open descriptors", _snap(lambda s: s.fd_count))
    simple(t, "proc.fdlimit", INT, "descriptor limit", _snap(lambda s: s.fdlimit))
    simple(t, "proc.fdusage", FieldType.DOUBLE, "open / limit", _snap(_fdusage))
    simple(t, "proc.vmsize", U64, "virtual memory, kB", _snap(lambda s: s.vmsize_kb))
    simple(t, "proc.vmrss", U64, "resident memory, kB", _snap(lambda s: s.vmrss_kb))
    simple(t, "proc.vmswap", U64, "swapped memory, kB (not read at exec)",
           _snap(lambda s: s.vmswap_kb))  # fmt: skip
    simple(t, "proc.nthreads", U64, "threads alive", _snap(lambda s: s.nthreads))
    simple(t, "proc.nchilds", U64, "threads but the leader",
           _snap(lambda s: max(s.nthreads - 1, 0) if s.nthreads > 0 else -1))  # fmt: skip
    for num, stream in enumerate(_STDIO):
        simple(t, f"proc.{stream}.type", S, f"type of fd {num}", _std(num, "type"))
        simple(t, f"proc.{stream}.name", S, f"name of fd {num}", _std(num, "name"))
    simple(t, "thread.ismain", FieldType.BOOL, "the main thread", _is_main)
    simple(t, "thread.pfmajor", U64, "major page faults", _snap(lambda s: s.pfmajor))
    simple(t, "thread.pfminor", U64, "minor page faults", _snap(lambda s: s.pfminor))
    simple(t, "thread.vmsize", U64, "proc.vmsize for the main thread, else 0",
           _main_only("vmsize_kb"))  # fmt: skip
    simple(t, "thread.vmrss", U64, "proc.vmrss for the main thread, else 0",
           _main_only("vmrss_kb"))  # fmt: skip
    simple(t, "thread.cgroups", S, "subsystem=path joined by spaces", _snap(_cgroups))
    t.add(FieldDef("thread.cgroup", S, "path in one subsystem", _cgroup, ArgKind.KEY, True))
    R, D = FieldType.RELTIME, FieldType.DOUBLE
    # Falco sets these from scheduler switch events, and gives 0 on every other event: the
    # sensor reports no switch events, so 0 is what Falco shows for a syscall's thread too.
    simple(t, "thread.exectime", R, "CPU time last scheduled (switch events only: 0)",
           lambda _e: 0)  # fmt: skip
    simple(t, "thread.totexectime", R, "CPU time over switch events seen (none: 0)",
           lambda _e: 0)  # fmt: skip
    simple(t, "thread.cpu", D, "CPU % in the last second, as of the exec's snapshot",
           _snap(_cpu_total))  # fmt: skip
    simple(t, "thread.cpu.user", D, "user CPU % in the last second (exec's snapshot)",
           _snap(lambda s: s.cpu_user_pct))  # fmt: skip
    simple(t, "thread.cpu.system", D, "system CPU % in the last second (exec's snapshot)",
           _snap(lambda s: s.cpu_system_pct))  # fmt: skip


def _cpu_total(s: ProcSnapshot) -> float:
    if s.cpu_user_pct < 0 or s.cpu_system_pct < 0:
        return -1
    return min(s.cpu_user_pct + s.cpu_system_pct, 100.0)
