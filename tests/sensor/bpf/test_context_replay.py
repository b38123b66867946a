"""Real ring buffer records replayed through the context stage give the Events of the
general path (every lookup, every event) in the cached path too."""

from __future__ import annotations

import subprocess

import msgspec
import pytest

from stockade.context import ContainerResolver, ContextStage, ProcessTree
from stockade.context.podman import PodmanRuntime
from stockade.context.tree import CLONE_TYPES, EXEC_TYPES
from stockade.model import Event, Process
from stockade.sensor.bpf import BpfSource
from stockade.sensor.bpf.decoder import RecordDecoder
from stockade.sensor.procfs import scan
from tests.support.polling import poll_until

pytestmark = [pytest.mark.ebpf, pytest.mark.root]
_TREE_CHANGING = CLONE_TYPES | EXEC_TYPES | {"procexit"}
WORKLOAD = "for i in 1 2 3 4 5 6 7 8; do /bin/true; cat /etc/hostname >/dev/null; done"


def _general(stage: ContextStage, event: Event) -> Event:
    tree, resolver = stage.tree, stage.resolver
    if event.type in _TREE_CHANGING:
        proc, ancestors = tree.update(event.type, event.proc)
    else:
        proc, ancestors = tree.view(event.proc)
    container = resolver.for_cgroup(proc.cgroup_id, proc.pid)
    return msgspec.structs.replace(event, proc=proc, ancestors=ancestors, container=container)


def _stage(snapshot: list[Process]) -> ContextStage:
    tree = ProcessTree()
    tree.seed(snapshot)
    return ContextStage(tree, ContainerResolver([PodmanRuntime()]))


def test_replayed_records_enrich_the_same(bpf_source: BpfSource) -> None:
    bpf_source.poll_raw(0)
    work = subprocess.Popen(["/bin/sh", "-c", WORKLOAD])
    records: list[bytes] = []
    watch = RecordDecoder(0).decode  # its own state: the compared decoders start afresh

    def shell_exited() -> bool:
        batch = bpf_source.poll_raw(0.05)
        records.extend(batch)
        return any(e.type == "procexit" and e.proc.pid == work.pid for e in map(watch, batch))

    # the shell's exit is its last record: everything the workload did is read by then
    poll_until(shell_exited, 30, "the workload shell's exit record", interval=0)
    assert work.wait(30) == 0
    snapshot = scan()
    fast, slow = _stage(snapshot), _stage(snapshot)
    fast_decode, slow_decode = RecordDecoder(0).decode, RecordDecoder(0).decode
    got = [fast.enrich(fast_decode(rec)) for rec in records]
    want = [_general(slow, slow_decode(rec)) for rec in records]
    assert got == want
    opens = [e for e in got if e.type == "openat" and e.proc.name == "cat"]
    assert opens and all(e.proc.argv == ("cat", "/etc/hostname") for e in opens)
