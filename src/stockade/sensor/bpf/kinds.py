"""Numeric ids of the event kinds the kernel programs emit, and the programs behind each.

This table is the single source of truth: the build step writes `kinds.h` from it, and
the loader enables only the programs of the event types asked for.
"""

from __future__ import annotations

from stockade.model import EventType
from stockade.sensor.bpf.syscalls import syscall_table

KINDS: tuple[EventType, ...] = tuple(EventType)
"""Kind id N (from 1) is KINDS[N - 1]."""

KIND_IDS: dict[EventType, int] = {t: i for i, t in enumerate(KINDS, start=1)}
GENERIC_KIND = len(KINDS) + 1
"""The kind of generic records: any other syscall, named by its number (rec_hdr.nr)."""
GENERIC_PROGRAMS = ("enter_generic", "exit_generic")

# Event types whose kernel syscall (and tracepoint) name differs from Falco's evt.type.
_SYSCALL_NAME: dict[EventType, str | None] = {
    EventType.UMOUNT2: "umount",  # umount2(2) is sys_umount in the kernel
    EventType.UMOUNT: None,  # the one-argument umount(2) does not exist on x86_64/arm64
    EventType.PROCEXIT: None,
    EventType.SIGNALDELIVER: None,
    EventType.PREAD: "pread64",
    EventType.PWRITE: "pwrite64",
    EventType.PRLIMIT: "prlimit64",
}

_EXTRA_PROGRAMS: dict[EventType, tuple[str, ...]] = {
    EventType.EXECVE: ("on_exec",),
    EventType.EXECVEAT: ("on_exec",),
    EventType.PROCEXIT: ("on_exit",),
    EventType.CLONE: ("on_fork",),
    EventType.CLONE3: ("on_fork",),
    EventType.FORK: ("on_fork",),
    EventType.VFORK: ("on_fork",),
    EventType.SIGNALDELIVER: ("on_signal",),
}


def syscall_name(event_type: EventType) -> str | None:
    """The kernel's name of the system call behind `event_type`, or None if there is none."""
    return _SYSCALL_NAME.get(event_type, event_type.value)


def programs_for(event_type: EventType) -> tuple[str, ...]:
    """Names of the BPF programs (functions in sensor.bpf.c) that produce `event_type`."""
    name = syscall_name(event_type)
    pair = (f"enter_{name}", f"exit_{name}") if name else ()
    return pair + _EXTRA_PROGRAMS.get(event_type, ())


def kinds_header() -> str:
    """The C header with one `#define K_<TYPE> <id>` per kind (written at build time)."""
    lines = ["/* Generated from stockade.sensor.bpf.kinds; do not edit. */", "#pragma once"]
    lines += [f"#define K_{t.name} {i}" for t, i in KIND_IDS.items()]
    lines.append(f"#define K_GENERIC {GENERIC_KIND}")
    return "\n".join(lines) + "\n"


def generic_syscalls() -> dict[str, int]:
    """This machine's syscalls that have no program of their own, by name: their number."""
    own = {syscall_name(t) for t in EventType} | {t.value for t in EventType}
    return {name: nr for nr, name in syscall_table().items() if name not in own}


def capture_of(name: str) -> str | None:
    """How the sensor captures Falco's syscall event `name` on this machine: "own" (a
    program with its arguments), "generic" (ID and nativeID only), None (not a syscall here).
    """
    if name in _OWN:
        return "own"
    return "generic" if name in generic_syscalls() else None


_OWN = frozenset(t.value for t in EventType if syscall_name(t) is not None)
