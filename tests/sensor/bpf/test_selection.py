"""Only the tracepoints of the event types asked for are attached."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest

from stockade.model import Event, EventType
from stockade.model.events import LIFECYCLE_EVENT_TYPES
from stockade.sensor.bpf import BpfSource


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
        events: list[Event] = []
        deadline = time.monotonic() + 10
        while not any(e.fd and e.fd.name == str(path) for e in events):
            assert time.monotonic() < deadline, "the open was not recorded"
            events += source.poll(0.05)
        assert {e.type for e in events} == {"openat"}
    finally:
        source.stop()
