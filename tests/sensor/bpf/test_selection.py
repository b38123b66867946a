"""Only the tracepoints of the event types asked for are attached."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from stockade.agent.detection import agent_detectors, event_types_needed
from stockade.model import EventType
from stockade.model.events import HIGH_VOLUME_EVENT_TYPES, LIFECYCLE_EVENT_TYPES
from stockade.sensor.bpf import BpfSource
from stockade.sensor.bpf.kinds import programs_for
from tests.support.sensor import collect_until


def test_lifecycle_is_always_included() -> None:
    source = BpfSource({EventType.CONNECT})
    assert source.event_types == LIFECYCLE_EVENT_TYPES | {EventType.CONNECT}
    assert {"enter_connect", "exit_connect", "on_exec", "on_exit"} <= source.programs()
    assert "enter_openat" not in source.programs()


@pytest.mark.ebpf
@pytest.mark.root
@pytest.mark.parametrize("reader", ["mmap", "libbpf"])
def test_only_selected_syscalls_are_attached(tmp_path: Path, reader: str) -> None:
    source = BpfSource({EventType.OPENAT}, lifecycle=False, reader=reader)
    source.start()
    try:
        assert sorted(source.attached) == ["enter_openat", "exit_openat"]
        path = tmp_path / uuid.uuid4().hex
        subprocess.run(["/bin/sh", "-c", f"echo x > {path}"], check=True)
        events = collect_until(
            source,
            lambda seen: any(e.fd and e.fd.name == str(path) for e in seen),
            10,
            f"the open of {path}",
        )
        assert {e.type for e in events} == {"openat"}
    finally:
        source.stop()


KILL_RULE = """
- rule: kill in a container
  desc: a process sends SIGKILL
  condition: evt.type = kill and evt.arg.sig = SIGKILL
  output: "%proc.name killed %evt.arg.pid"
  priority: WARNING
"""
OPEN_RULE = """
- rule: passwd read
  desc: a process opens /etc/passwd
  condition: evt.type = openat and fd.name = /etc/passwd
  output: "%proc.name"
  priority: WARNING
"""


def _attached_for(rules: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "rules.yaml"
    path.write_text(rules)
    types = event_types_needed(agent_detectors(rule_paths=[path]))
    source = BpfSource(types, lifecycle=False)
    source.start()
    try:
        return source.attached
    finally:
        source.stop()


def test_a_rule_on_no_event_type_does_not_bring_in_the_high_volume_calls(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(OPEN_RULE.replace("evt.type = openat and ", ""))
    types = event_types_needed(agent_detectors(rule_paths=[path]))
    assert EventType.KILL in types
    assert not types & HIGH_VOLUME_EVENT_TYPES


@pytest.mark.ebpf
@pytest.mark.root
def test_attached_calls_follow_the_loaded_rules(tmp_path: Path) -> None:
    with_kill = _attached_for(KILL_RULE, tmp_path)
    without = _attached_for(OPEN_RULE, tmp_path)
    base = {p for t in LIFECYCLE_EVENT_TYPES for p in programs_for(t)}
    assert {"enter_kill", "exit_kill"} <= set(with_kill)
    assert "enter_kill" not in without and "exit_kill" not in without
    assert {"enter_openat", "exit_openat"} <= set(without)
    assert base <= set(with_kill) & set(without)  # the base set the process tree needs
