"""Which event types the eBPF sensor captures, from the tracepoints a tracefs offers."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.model import EventType
from stockade.sensor.bpf.coverage import (
    GENERIC,
    captured_types,
    has_tracepoint,
    missing_tracepoints,
    tracepoint_for,
)
from stockade.sensor.bpf.kinds import GENERIC_PROGRAMS, generic_syscalls, programs_for


def _tracefs(tmp_path: Path, without: set[str]) -> Path:
    """A tracefs `events` directory with every tracepoint the sensor uses but those of the
    event types in `without` ("generic": the raw syscall pair)."""
    events = tmp_path / "events"
    programs = [(t.value, programs_for(t)) for t in EventType] + [("generic", GENERIC_PROGRAMS)]
    for name, needed in programs:
        for program in needed:
            tracepoint = tracepoint_for(program)
            if tracepoint and name not in without:
                (events / tracepoint).mkdir(parents=True, exist_ok=True)
    return events


@pytest.mark.parametrize(
    ("program", "tracepoint"),
    [
        ("enter_openat", "syscalls/sys_enter_openat"),
        ("exit_umount", "syscalls/sys_exit_umount"),
        ("enter_generic", "raw_syscalls/sys_enter"),
        ("on_exec", None),  # a BTF tracepoint needs no tracefs entry
    ],
    ids=["enter", "exit", "generic", "btf"],
)
def test_tracepoint_for_program(program: str, tracepoint: str | None) -> None:
    assert tracepoint_for(program) == tracepoint


def test_a_kernel_without_module_syscalls_loses_those_event_types(tmp_path: Path) -> None:
    events = _tracefs(tmp_path, without={"init_module", "finit_module"})
    missing = missing_tracepoints(events)
    assert missing == {
        "syscalls/sys_enter_init_module": ["init_module"],
        "syscalls/sys_exit_init_module": ["init_module"],
        "syscalls/sys_enter_finit_module": ["finit_module"],
        "syscalls/sys_exit_finit_module": ["finit_module"],
    }
    captured = captured_types(events)
    assert "init_module" not in captured and "openat" in captured
    assert "umount" not in captured  # no system call of that name on this arch
    assert "procexit" in captured  # its program needs no tracefs entry
    assert set(generic_syscalls()) <= captured  # every other syscall, as a generic event


def test_without_the_raw_syscall_tracepoints_other_syscalls_are_lost(tmp_path: Path) -> None:
    events = _tracefs(tmp_path, without={"generic"})
    assert missing_tracepoints(events) == {
        "raw_syscalls/sys_enter": [GENERIC],
        "raw_syscalls/sys_exit": [GENERIC],
    }
    assert captured_types(events).isdisjoint(generic_syscalls())


def test_without_tracefs_only_btf_programs_attach() -> None:
    assert has_tracepoint(None, "on_exit")
    assert not has_tracepoint(None, "enter_openat")
    captured = captured_types(None)
    assert "procexit" in captured and "openat" not in captured
    assert captured.isdisjoint(generic_syscalls())
