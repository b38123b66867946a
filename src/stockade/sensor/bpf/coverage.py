"""Which event types the eBPF sensor can capture on this kernel, from the tracepoints its
programs attach to: a system call without a tracepoint here (no module support, an
architecture without it) is an event type no rule will ever see."""

from __future__ import annotations

from pathlib import Path

from stockade.model import EventType
from stockade.sensor.bpf.kinds import GENERIC_PROGRAMS, generic_syscalls, programs_for

TRACEFS_EVENT_DIRS = (Path("/sys/kernel/tracing/events"), Path("/sys/kernel/debug/tracing/events"))
GENERIC = "other syscalls (generic events)"


def tracepoint_for(program: str) -> str | None:
    """The tracefs tracepoint a program attaches to (`syscalls/sys_enter_open`), or None
    for programs that need none (BTF tracepoints)."""
    which, _, syscall = program.partition("_")
    if which not in ("enter", "exit"):
        return None
    if program in GENERIC_PROGRAMS:
        return f"raw_syscalls/sys_{which}"
    return f"syscalls/sys_{which}_{syscall}"


def has_tracepoint(events: Path | None, program: str) -> bool:
    """Whether `program` can attach given the tracefs `events` directory (None: absent)."""
    tracepoint = tracepoint_for(program)
    return tracepoint is None or (events is not None and (events / tracepoint).is_dir())


def mounted_events_dir() -> Path | None:
    """The tracefs `events` directory if tracefs is mounted (never mounts it).

    PermissionError when tracefs may not be read (it is root's).
    """
    return next((d for d in TRACEFS_EVENT_DIRS if d.is_dir()), None)


def _programs() -> list[tuple[str, tuple[str, ...]]]:
    """(what is captured, the programs it needs), for every own event type and the rest."""
    own = [(t.value, programs_for(t)) for t in EventType]
    return [*own, (GENERIC, GENERIC_PROGRAMS)]


def missing_tracepoints(events: Path | None) -> dict[str, list[str]]:
    """Tracepoints the sensor's programs need that this kernel lacks, with the event
    types each one leaves uncaptured."""
    missing: dict[str, list[str]] = {}
    for captured, programs in _programs():
        for program in programs:
            tracepoint = tracepoint_for(program)
            if tracepoint is not None and not has_tracepoint(events, program):
                missing.setdefault(tracepoint, []).append(captured)
    return missing


def captured_types(events: Path | None) -> frozenset[str]:
    """Event types the sensor captures here: those whose programs can all attach, and the
    other syscalls of this machine when the generic programs can."""
    captured = {
        t.value
        for t in EventType
        if programs_for(t) and all(has_tracepoint(events, p) for p in programs_for(t))
    }
    if all(has_tracepoint(events, p) for p in GENERIC_PROGRAMS):
        captured |= set(generic_syscalls())
    return frozenset(captured)
