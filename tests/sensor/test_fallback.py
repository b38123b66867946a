"""The fallback chain: with eBPF disabled, proc connector + fanotify report container work."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from stockade.model import Event, EventType, Process
from stockade.sensor.base import EventSource, SensorStats, SensorUnavailable
from stockade.sensor.fallback import (
    DEFAULT_CHAIN,
    MergedSource,
    choose_source,
    interleave,
    part_types,
)
from tests.support.podman import BASE_FLAGS, Podman
from tests.support.sensor import collect_until


class _Fake(EventSource):
    """A source that starts or refuses, for the chain's ordering logic."""

    id = "fake"

    def __init__(self, name: str, fails: bool) -> None:
        self.name, self.fails, self.started = name, fails, False

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return None

    def start(self) -> None:
        if self.fails:
            raise SensorUnavailable(f"{self.name}: cannot start")
        self.started = True

    def poll(self, timeout_s: float) -> list[Event]:
        return []

    def stop(self) -> None:
        self.started = False

    def stats(self) -> SensorStats:
        return SensorStats()


@pytest.mark.parametrize(
    ("failing", "disabled", "name", "degraded"),
    [
        ((), (), "a", None),
        (("a",), (), "b+c", "a: cannot start"),
        ((), ("a",), "b+c", "a: disabled by flag"),
        (("a", "c"), (), "b", "a: cannot start; c: cannot start"),
    ],
    ids=["first", "first-fails", "first-disabled", "partial-merge-fails"],
)
def test_chain_order(
    failing: tuple[str, ...], disabled: tuple[str, ...], name: str, degraded: str | None
) -> None:
    chain = (("a",), ("b", "c"), ("b",))
    choice = choose_source(chain, disabled=disabled, build=lambda i, _types: _Fake(i, i in failing))
    assert (choice.name, choice.degraded) == (name, degraded)


def test_nothing_works() -> None:
    with pytest.raises(SensorUnavailable, match="no event source can run here: a: cannot"):
        choose_source((("a",),), build=lambda i, _types: _Fake(i, True))


def test_audit_comes_right_after_ebpf_and_claims_execs() -> None:
    assert DEFAULT_CHAIN[:2] == (("ebpf",), ("audit", "proc_connector", "fanotify"))
    types = frozenset(EventType)
    built: dict[str, frozenset[str]] = {}

    def build(source_id: str, wanted: frozenset[str]) -> EventSource:
        built[source_id] = wanted
        return _Fake(source_id, fails=source_id == "ebpf")

    choice = choose_source(build=build)
    assert (choice.name, choice.degraded) == ("audit+proc_connector+fanotify", "ebpf: cannot start")
    # Execs come from audit only, so the merged source reports each exec once.
    assert built["audit"] == types
    assert built["proc_connector"] == built["fanotify"] == types - {"execve", "execveat"}
    assert part_types(("proc_connector",), types) == [types]


def _event(type_: str, pid: int) -> Event:
    return Event(type=type_, ts=0, proc=Process(pid=pid), source=type_)


@pytest.mark.parametrize(
    ("others", "execs", "merged"),
    [
        ([("clone", 5), ("procexit", 5)], [5], ["clone 5", "execve 5", "procexit 5"]),
        (
            [("procexit", 5), ("clone", 6)],
            [5, 6],
            ["execve 5", "procexit 5", "clone 6", "execve 6"],
        ),
        ([("clone", 6)], [7], ["clone 6", "execve 7"]),
        ([("clone", 5), ("write", 5)], [5, 5], ["clone 5", "execve 5", "execve 5", "write 5"]),
    ],
    ids=["clone-exec-exit", "clone-in-earlier-poll", "exit-in-later-poll", "exec-chain"],
)
def test_interleave_keeps_clone_exec_exit_order(
    others: list[tuple[str, int]], execs: list[int], merged: list[str]
) -> None:
    events = [_event(t, pid) for t, pid in others]
    result = interleave(events, [_event("execve", pid) for pid in execs])
    assert [f"{e.type} {e.proc.pid}" for e in result] == merged


class _Scripted(_Fake):
    """A fake that returns its scripted batches, one per poll."""

    def __init__(self, name: str, batches: list[list[Event]]) -> None:
        super().__init__(name, False)
        self.batches = batches

    def poll(self, timeout_s: float) -> list[Event]:
        return self.batches.pop(0)


class _ScriptedAudit(_Scripted):
    id = "audit"


def test_an_exit_waits_one_poll_for_its_exec_still_in_flight() -> None:
    audit = _ScriptedAudit("audit", [[], [_event("execve", 5)], []])
    proc = _Scripted("proc", [[_event("clone", 5), _event("procexit", 5)], [], []])
    merged = MergedSource([audit, proc])
    polls = [[f"{e.type} {e.proc.pid}" for e in merged.poll(0)] for _ in range(3)]
    assert polls == [["clone 5"], ["execve 5", "procexit 5"], []]


@pytest.mark.root
@pytest.mark.podman
def test_fallback_sees_exec_exit_and_writes_in_a_container(
    podman: Podman, busybox_image: str
) -> None:
    container = podman.run_detached(busybox_image, "sleep", "600")
    cgroup = os.stat(f"/sys/fs/cgroup/unified/libpod_parent/libpod-{container}").st_ino
    choice = choose_source(disabled={"ebpf"}, event_types=set(EventType))
    try:
        assert choice.name == "audit+proc_connector+fanotify"
        assert choice.degraded == "ebpf: disabled by flag"
        assert isinstance(choice.source, MergedSource)
        path = f"/tmp/fallback-{uuid.uuid4().hex[:10]}"
        # Polled while the command runs: the fallback reads /proc of the live processes.
        running = subprocess.Popen(
            ["podman", *BASE_FLAGS, "exec", container, "sh", "-c", f"sleep 1; echo x > {path}"]
        )

        def writes(events: list[Event]) -> list[Event]:
            return [e for e in events if e.fd and e.fd.name == path and e.type == "write"]

        def execs(events: list[Event]) -> list[Event]:
            return [e for e in events if e.type == "execve" and e.proc.cgroup_id == cgroup]

        def exited(events: list[Event]) -> bool:
            exits = {e.proc.pid for e in events if e.type == "procexit"}
            return any(e.proc.pid in exits for e in execs(events))

        events = collect_until(
            choice.source,
            lambda seen: writes(seen) and exited(seen),
            10,
            f"the write to {path} and an exec's exit in the container",
        )
        assert running.wait(timeout=30) == 0
        assert writes(events)[0].proc.cgroup_id == cgroup
    finally:
        choice.source.stop()
