"""The process tree cache, driven by event values (no kernel needed)."""

from __future__ import annotations

import msgspec

from stockade.context import ProcessTree
from stockade.model import Event, Process


def _proc(pid: int, ppid: int, name: str, start: int) -> Process:
    return Process(pid=pid, ppid=ppid, name=name, argv=(name,), start_ns=start)


def test_clone_exec_exit_and_ancestors() -> None:
    tree = ProcessTree()
    tree.seed([_proc(1, 0, "init", 1), _proc(10, 1, "bash", 10)])
    clone = tree.apply(Event(type="clone", ts=20, proc=Process(pid=20, ppid=10, start_ns=20)))
    assert clone.proc.name == "bash"  # inherited from the parent
    execve = tree.apply(Event(type="execve", ts=21, proc=_proc(20, 10, "cat", 20)))
    assert [a.name for a in execve.ancestors] == ["bash", "init"]
    other = tree.apply(Event(type="openat", ts=22, proc=Process(pid=20)))
    assert other.proc.name == "cat" and other.ancestors[0].pid == 10
    gone = tree.apply(Event(type="procexit", ts=23, proc=Process(pid=20)))
    assert gone.proc.name == "cat"
    assert tree.get(20) is None


def test_a_daemon_child_copies_its_parent_that_exited_first() -> None:
    tree = ProcessTree()
    tree.seed([_proc(1, 0, "init", 1), _proc(10, 1, "bash", 10)])
    daemon = Process(pid=20, ppid=10, name="busybox", start_ns=20)
    tree.apply(
        Event(
            type="execve",
            ts=20,
            proc=msgspec.structs.replace(
                daemon, argv=("busybox", "httpd"), exepath="/usr/bin/busybox"
            ),
        )
    )
    tree.apply(Event(type="procexit", ts=21, proc=Process(pid=20)))
    child = Process(pid=21, ppid=20, name="busybox", start_ns=21)
    clone = tree.apply(Event(type="clone", ts=22, proc=child))
    assert clone.proc.argv == ("busybox", "httpd")
    assert clone.proc.exepath == "/usr/bin/busybox"
    assert [a.name for a in clone.ancestors] == ["busybox", "bash", "init"]


def test_pid_reuse_does_not_inherit_identity() -> None:
    tree = ProcessTree()
    tree.seed([_proc(1, 0, "init", 1), _proc(30, 1, "old", 5)])
    fresh = tree.apply(Event(type="openat", ts=50, proc=Process(pid=30, start_ns=40)))
    assert fresh.proc.name == ""  # a different process now holds pid 30
    # A child whose recorded parent pid was reused by a younger process has no ancestors.
    tree.apply(Event(type="execve", ts=60, proc=_proc(30, 1, "young", 60)))
    orphan = tree.apply(Event(type="execve", ts=61, proc=_proc(31, 30, "x", 50)))
    assert orphan.ancestors == ()


def test_ancestors_survive_parent_exit() -> None:
    tree = ProcessTree()
    tree.seed([_proc(1, 0, "init", 1), _proc(10, 1, "sh", 10), _proc(11, 10, "sleep", 11)])
    tree.apply(Event(type="procexit", ts=12, proc=Process(pid=10)))
    event = tree.apply(Event(type="openat", ts=13, proc=Process(pid=11)))
    assert [a.name for a in event.ancestors] == ["sh", "init"]


def test_resync_replaces_live_processes_and_keeps_the_dead_for_ancestry() -> None:
    tree = ProcessTree()
    tree.seed([_proc(1, 0, "init", 1), _proc(10, 1, "sh", 10), _proc(11, 10, "gone", 11)])
    tree.resync([_proc(1, 0, "init", 1), _proc(12, 11, "child", 12)])
    assert tree.get(11) is None and len(tree) == 2
    event = tree.apply(Event(type="openat", ts=13, proc=Process(pid=12)))
    assert [a.name for a in event.ancestors] == ["gone", "sh", "init"]
