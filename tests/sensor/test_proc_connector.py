"""The netlink process connector sees real fork/exec/exit on this host."""

from __future__ import annotations

import os
import subprocess

import pytest

from stockade.context import ContainerResolver, ContextStage, ProcessTree
from stockade.context.podman import PodmanRuntime
from stockade.model import Event, EventType
from stockade.sensor import procfs
from stockade.sensor.base import SOURCES
from stockade.sensor.proc_connector import ProcConnectorSource
from tests.support.sensor import collect_until


def _collect_until(source: ProcConnectorSource, done: subprocess.Popen[bytes]) -> list[Event]:
    return collect_until(
        source,
        lambda events: (
            done.poll() is not None
            and any(e.type == "procexit" and e.proc.pid == done.pid for e in events)
        ),
        10,
        f"the exit of pid {done.pid}",
    )


def test_registered() -> None:
    assert SOURCES.get("proc_connector") is ProcConnectorSource


@pytest.mark.root
def test_sees_exec_and_exit_of_a_host_process() -> None:
    source = ProcConnectorSource()
    assert ProcConnectorSource.unavailable_reason() is None
    source.start()
    tree = ProcessTree()
    tree.seed(procfs.scan())
    stage = ContextStage(tree, ContainerResolver([PodmanRuntime()]))
    try:
        child = subprocess.Popen(["/bin/sleep", "0.5"])
        raw = _collect_until(source, child)
    finally:
        source.stop()
    events = [stage.enrich(e) for e in raw]
    mine = [e for e in events if e.proc.pid == child.pid]
    types = [e.type for e in mine]
    assert types == ["clone", "execve", "procexit"]
    execve = mine[1]
    assert execve.source == "proc_connector"
    assert execve.proc.name == "sleep"
    assert execve.proc.argv == ("/bin/sleep", "0.5")
    assert execve.proc.exepath.endswith("sleep")
    assert execve.proc.cgroup_id == procfs.cgroup_id(os.getpid())
    assert execve.container.id == "host"
    assert execve.ancestors[0].pid == os.getpid()
    assert mine[2].proc.name == "sleep"  # filled from the tree
    assert source.stats().events_by_type["execve"] >= 1


def test_procfs_scan_sees_this_process() -> None:
    found = {p.pid: p for p in procfs.scan()}
    me = found[os.getpid()]
    assert me.name.startswith(("python", "pytest"))
    assert me.start_ns > 0 and me.ppid == os.getppid()


@pytest.mark.root
def test_without_execve_wanted_it_reports_the_lifecycle_but_no_exec() -> None:
    source = ProcConnectorSource(frozenset(EventType) - {EventType.EXECVE})
    source.start()
    try:
        child = subprocess.Popen(["/bin/sleep", "0.2"])
        events = _collect_until(source, child)
    finally:
        source.stop()
    assert [e.type for e in events if e.proc.pid == child.pid] == ["clone", "procexit"]
