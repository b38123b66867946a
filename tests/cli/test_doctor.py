"""`stockade doctor` names every source and runtime, and the one the agent will use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockade.cli.doctor import Check, attach_check, chosen_source, object_check, tracepoint_checks
from stockade.cli.main import app


@pytest.mark.parametrize(
    ("usable", "chosen"),
    [
        ({"ebpf", "proc_connector", "fanotify"}, "ebpf"),
        ({"proc_connector", "fanotify"}, "proc_connector+fanotify"),
        ({"proc_connector"}, "proc_connector"),
        (set(), "none"),
    ],
    ids=["all", "no-ebpf", "proc-connector-only", "nothing"],
)
def test_chosen_source_follows_the_default_chain(usable: set[str], chosen: str) -> None:
    checks = [
        Check("event source", name, None if name in usable else "not here")
        for name in ("ebpf", "proc_connector", "fanotify")
    ]
    assert chosen_source(checks) == chosen


@pytest.mark.root
@pytest.mark.ebpf
def test_doctor_reports_sources_and_runtimes_here() -> None:
    result = CliRunner().invoke(app, ["doctor"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for name in ("ebpf", "proc_connector", "fanotify", "podman", "docker"):
        assert name in result.output
    # Built by the install step; the name column is as wide as the longest name listed.
    assert re.search(r"eBPF record readers +│ ok", result.output), result.output
    assert re.search(r"context stage loop +│ ok", result.output), result.output
    assert "event source the agent will use: ebpf" in result.output


def test_tracepoints_this_kernel_lacks_are_listed_with_what_they_lose(tmp_path: Path) -> None:
    from stockade.model import EventType
    from stockade.sensor.bpf.coverage import tracepoint_for
    from stockade.sensor.bpf.kinds import GENERIC_PROGRAMS, programs_for

    events = tmp_path / "events"
    programs = [p for t in EventType if t is not EventType.PTRACE for p in programs_for(t)]
    for program in [*programs, *GENERIC_PROGRAMS]:
        tracepoint = tracepoint_for(program)
        if tracepoint:
            (events / tracepoint).mkdir(parents=True, exist_ok=True)
    checks = tracepoint_checks(events)
    assert [(c.kind, c.name) for c in checks] == [
        ("tracepoint", "syscalls/sys_enter_ptrace"),
        ("tracepoint", "syscalls/sys_exit_ptrace"),
    ]
    assert all(c.problem and "(not captured: ptrace)" in c.problem for c in checks)
    assert [c.name for c in tracepoint_checks(None)] == ["tracefs"]


def test_doctor_says_whether_the_shipped_object_is_used() -> None:
    from stockade.sensor.bpf.shipped import shipped_object

    check = object_check()
    assert (check.kind, check.name) == ("eBPF object", "shipped CO-RE object")
    reason = shipped_object()[1]  # a source tree ships none: its object is built here
    if reason is not None:
        assert check.problem == f"{reason}: built on this host with clang and bpftool instead"


@pytest.mark.root
@pytest.mark.ebpf
def test_doctor_says_how_the_syscall_programs_attach(monkeypatch: pytest.MonkeyPatch) -> None:
    from stockade.sensor.bpf.trampoline import trampoline_refusal

    check = attach_check()
    assert (check.kind, check.name) == ("eBPF attach", "BPF trampolines (fentry/fexit)")
    assert (check.problem is None) == (trampoline_refusal() is None)
    monkeypatch.setenv("STOCKADE_BPF_ATTACH", "tracepoint")
    forced = attach_check().problem
    assert forced and forced.startswith("forced by $STOCKADE_BPF_ATTACH: syscall tracepoints")
