"""The pinned sensor records while no process holds it, and follows the rules on adoption."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from stockade.model import Event
from stockade.sensor.bpf import BpfSource
from stockade.sensor.bpf.pins import PinLayout, unpin
from tests.support.pinned_agent import MARKER_EXE, fresh_pin_dir
from tests.support.polling import poll_until

pytestmark = [pytest.mark.ebpf, pytest.mark.root]


@pytest.fixture
def pins() -> Iterator[PinLayout]:
    """A pin dir of this test's own, removed afterwards."""
    layout = PinLayout(fresh_pin_dir())
    yield layout
    unpin(layout.root)


def _pinned_source(layout: PinLayout, types: Iterable[str]) -> BpfSource:
    source = BpfSource(types, lifecycle=False)
    source.keep_pinned(layout)
    source.hold_commits()
    source.start()
    return source


def _markers(events: list[Event], tag: str) -> list[str]:
    return [
        e.proc.argv[1]
        for e in events
        if e.type == "execve" and len(e.proc.argv) > 1 and e.proc.argv[1].startswith(tag)
    ]


def test_execs_while_no_process_holds_the_sensor_are_read_by_the_next(pins: PinLayout) -> None:
    first = _pinned_source(pins, {"execve"})
    first.stop()  # the pins keep it running
    tag = f"pinned-{uuid.uuid4().hex[:8]}"
    for i in range(20):
        subprocess.run([MARKER_EXE, f"{tag}-{i}"], check=True)
    second = _pinned_source(pins, {"execve"})
    try:
        assert second.adoption is not None
        assert set(second.adoption.adopted) == set(second.attached)
        assert "events" in second.adoption.reused_maps
        seen: list[str] = []

        def all_seen() -> bool:
            seen.extend(_markers(second.poll(0.1), tag))
            second.commit(second.position())
            return len(seen) >= 20

        poll_until(all_seen, 60, "the execs made while no process held the sensor")
        assert seen == [f"{tag}-{i}" for i in range(20)]
    finally:
        second.stop()


def _linked(layout: PinLayout) -> set[str]:
    return {name for links in layout.pinned_links().values() for name in links}


def test_adoption_attaches_what_new_rules_need_and_detaches_the_rest(pins: PinLayout) -> None:
    _pinned_source(pins, {"execve"}).stop()
    assert {"enter_openat", "exit_openat"}.isdisjoint(_linked(pins))
    wider = _pinned_source(pins, {"execve", "openat"})
    wider.stop()
    assert wider.adoption is not None
    assert set(wider.adoption.loaded) == {"enter_openat", "exit_openat"}
    assert "on_exec" in wider.adoption.adopted
    assert {"enter_openat", "exit_openat"} <= _linked(pins)
    narrower = _pinned_source(pins, {"execve"})
    narrower.stop()
    assert narrower.adoption is not None
    assert set(narrower.adoption.detached) == {"enter_openat", "exit_openat"}
    assert narrower.adoption.loaded == ()
    assert {"enter_openat", "exit_openat"}.isdisjoint(_linked(pins))


def test_uninstall_removes_every_pin(pins: PinLayout) -> None:
    _pinned_source(pins, {"execve"}).stop()
    assert pins.has_pins()
    assert unpin(pins.root) > 0
    assert not Path(pins.root).exists()
