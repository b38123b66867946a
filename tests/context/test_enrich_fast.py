"""The context stage's cached path gives the very Events the general path gives."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from stockade.context import ContainerResolver, ContextStage, ProcessTree
from stockade.context.resolver import CgroupIndex
from stockade.context.runtime import ContainerRuntime
from stockade.context.tree import CLONE_TYPES, EXEC_TYPES
from stockade.model import Container, Event, Process
from tests.support.ci import skip_or_fail

_CID = "c" * 64
_TREE_CHANGING = CLONE_TYPES | EXEC_TYPES | {"procexit"}


class _DirRuntime(ContainerRuntime):
    """Containers are cgroup directories named ctr-<id>; metadata once `ready` is set."""

    id = "dirs"

    def __init__(self) -> None:
        self.ready = False
        self.name = "web"

    def unavailable_reason(self) -> str | None:
        return None

    def container_id_for_cgroup(self, cgroup_path: str) -> str | None:
        name = cgroup_path.rsplit("/", 1)[-1]
        return name[4:] if name.startswith("ctr-") else None

    def describe(self, container_id: str, cgroup_id: int) -> Container | None:
        return Container(
            id=container_id,
            name=self.name,
            runtime=self.id,
            cgroup_id=cgroup_id,
            complete=self.ready,
        )


def general(stage: ContextStage, event: Event) -> Event:
    """What `ContextStage.enrich` did before its cache: every lookup, every event."""
    tree, resolver = stage.tree, stage.resolver
    if event.type in _TREE_CHANGING:
        proc, ancestors = tree.update(event.type, event.proc)
    else:
        proc, ancestors = tree.view(event.proc)
    if proc.cgroup_id:
        container = resolver.for_cgroup(proc.cgroup_id, proc.pid)
    else:
        container = resolver.for_pid(proc.pid)
    return msgspec.structs.replace(
        event, proc=proc, ancestors=ancestors, container=container, host_id="h"
    )


def _stream(cgroup: int) -> Iterator[Event]:
    """Forks, execs, opens and exits, with Process objects reused per actor (as eBPF does)."""
    sh = Process(pid=10, ppid=1, name="sh", start_ns=10, cgroup_id=cgroup)
    # a child that lives throughout, one Process object for all its events (as eBPF does)
    worker = Process(pid=50, ppid=10, name="worker", start_ns=50, cgroup_id=cgroup)
    yield Event(type="vfork", ts=0, proc=worker)
    for n in range(40):
        yield Event(type="openat", ts=n, proc=worker)
        pid = 100 + n % 7  # pids come back: reuse must not leak an old identity
        child = Process(pid=pid, ppid=10, name="sh", start_ns=1000 + n, cgroup_id=cgroup)
        yield Event(type="vfork", ts=n, proc=child)
        yield Event(type="openat", ts=n, proc=sh)
        image = ("cat", "/etc/hostname") if n % 2 else ("true",)
        ran = Process(pid=pid, ppid=10, name=image[0], argv=image, start_ns=1000 + n)
        ran.cgroup_id = cgroup
        yield Event(type="execve", ts=n, proc=ran)
        actor = Process(pid=pid, ppid=10, name=image[0], start_ns=1000 + n, cgroup_id=cgroup)
        for _ in range(n % 4):
            yield Event(type="openat", ts=n, proc=actor)
            yield Event(type="connect", ts=n, proc=sh)
        if n % 5:  # some never report their exit (lost events)
            yield Event(type="procexit", ts=n, proc=actor)
        if n == 20:  # the parent runs another program: its children's ancestors change
            sh = Process(pid=10, ppid=1, name="bash", argv=("bash",), start_ns=10)
            sh.cgroup_id = cgroup
            yield Event(type="execve", ts=n, proc=sh)
            sh = Process(pid=10, ppid=1, name="bash", start_ns=10, cgroup_id=cgroup)


def _pair(
    root: Path, runtime: _DirRuntime, compiled: bool = True
) -> tuple[ContextStage, ContextStage]:
    def stage() -> ContextStage:
        tree = ProcessTree()
        tree.seed([Process(pid=1, name="init", start_ns=1), Process(pid=10, ppid=1, name="sh")])
        resolver = ContainerResolver([runtime], CgroupIndex(root), retry_s=0.0)
        return ContextStage(tree, resolver, host_id="h", compiled=compiled)

    return stage(), stage()


def test_cached_path_equals_general_path(tmp_path: Path) -> None:
    (tmp_path / f"ctr-{_CID}").mkdir()
    cgroup = os.stat(tmp_path / f"ctr-{_CID}").st_ino
    runtime = _DirRuntime()
    fast, slow = _pair(tmp_path, runtime)
    for i, event in enumerate(_stream(cgroup)):
        if i == 30:
            runtime.ready = True  # the runtime finished writing the container down
        got, want = fast.enrich(event), general(slow, event)
        assert got == want, (i, event.type)
    assert got.container.complete and got.container.name == "web"


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
def test_a_batch_gives_what_one_event_at_a_time_gives(tmp_path: Path, compiled: bool) -> None:
    if compiled and not ContextStage(ProcessTree(), ContainerResolver([])).compiled:
        skip_or_fail("the compiled batch loop is not built (setup.py: Cython and a C compiler)")
    (tmp_path / f"ctr-{_CID}").mkdir()
    cgroup = os.stat(tmp_path / f"ctr-{_CID}").st_ino
    runtime = _DirRuntime()
    fast, slow = _pair(tmp_path, runtime, compiled)
    assert fast.compiled == compiled
    events = list(_stream(cgroup))
    got: list[Event] = []
    for start in range(0, len(events), 13):  # batches cut across forks, execs and exits
        if start >= 39:
            runtime.ready = True
        batch = events[start : start + 13]
        as_sent = [msgspec.structs.replace(e) for e in batch]  # enrich_all fills in place
        got += fast.enrich_all(batch)
        for event, enriched in zip(as_sent, got[start:], strict=True):
            assert enriched == general(slow, event), (start, event.type)
    assert {e.ancestors[0].name for e in got if e.proc.pid == 50 and e.ancestors} == {
        "sh",
        "bash",
    }


def test_a_forgotten_container_is_asked_again(tmp_path: Path) -> None:
    (tmp_path / f"ctr-{_CID}").mkdir()
    cgroup = os.stat(tmp_path / f"ctr-{_CID}").st_ino
    runtime = _DirRuntime()
    runtime.ready = True
    fast, _ = _pair(tmp_path, runtime)
    actor = Process(pid=10, ppid=1, name="sh", cgroup_id=cgroup)
    for ts in range(3):
        assert fast.enrich(Event(type="openat", ts=ts, proc=actor)).container.name == "web"
    runtime.name = "renamed"
    fast.resolver.forget(cgroup)
    again = fast.enrich(Event(type="openat", ts=9, proc=actor))
    assert again.container.name == "renamed"


def test_an_exited_actor_leaves_no_cached_answer(tmp_path: Path) -> None:
    (tmp_path / f"ctr-{_CID}").mkdir()
    cgroup = os.stat(tmp_path / f"ctr-{_CID}").st_ino
    runtime = _DirRuntime()
    runtime.ready = True
    fast, _ = _pair(tmp_path, runtime)
    for pid in range(100, 300):  # short-lived programs, each its own actor, as execs make
        actor = Process(pid=pid, ppid=10, name="true", start_ns=pid, cgroup_id=cgroup)
        fast.enrich(Event(type="vfork", ts=pid, proc=actor))
        assert fast.enrich(Event(type="openat", ts=pid, proc=actor)).container.name == "web"
        fast.enrich(Event(type="procexit", ts=pid, proc=actor))
    assert fast.cached_actors == 0


def test_an_exit_drops_the_answers_of_every_identity_of_the_process(tmp_path: Path) -> None:
    """A sensor gives a process one actor per identity (before its exec, each thread);
    the exit comes from one of them and drops the answers of all, and no other's."""
    (tmp_path / f"ctr-{_CID}").mkdir()
    cgroup = os.stat(tmp_path / f"ctr-{_CID}").st_ino
    runtime = _DirRuntime()
    runtime.ready = True
    fast, _ = _pair(tmp_path, runtime)
    shell = Process(pid=10, ppid=1, name="sh", start_ns=5, cgroup_id=cgroup)
    fast.enrich(Event(type="openat", ts=1, proc=shell))
    for pid in range(100, 150):
        forked = Process(pid=pid, ppid=10, name="sh", start_ns=pid, cgroup_id=cgroup)
        fast.enrich(Event(type="vfork", ts=pid, proc=forked))
        fast.enrich(Event(type="openat", ts=pid, proc=forked))  # its redirection, say
        ran = msgspec.structs.replace(forked, name="true")
        fast.enrich(Event(type="execve", ts=pid, proc=ran))
        thread = msgspec.structs.replace(ran, tid=pid + 1)
        for actor in (ran, thread):
            assert fast.enrich(Event(type="openat", ts=pid, proc=actor)).container.name == "web"
        fast.enrich(Event(type="procexit", ts=pid, proc=thread))
    assert fast.cached_actors == 1  # the shell's
