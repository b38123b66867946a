"""The tree's cached answer for events that do not change it stays exact as the tree changes."""

from __future__ import annotations

from stockade.context import ProcessTree
from stockade.model import Event, Process


def _proc(pid: int, ppid: int, name: str, start: int) -> Process:
    return Process(pid=pid, ppid=ppid, name=name, argv=(name,), start_ns=start)


def _open(tree: ProcessTree, actor: Process) -> Event:
    return tree.apply(Event(type="openat", ts=1, proc=actor))


def test_unrelated_changes_keep_the_cached_answer() -> None:
    tree = ProcessTree()
    tree.seed([_proc(1, 0, "init", 1), _proc(10, 1, "sh", 10), _proc(11, 10, "cat", 11)])
    actor = Process(pid=11, ppid=10, name="cat", start_ns=11)  # as the eBPF sensor reuses it
    first = _open(tree, actor)
    tree.apply(Event(type="clone", ts=2, proc=Process(pid=50, ppid=1, name="init", start_ns=50)))
    tree.apply(Event(type="procexit", ts=3, proc=Process(pid=50)))
    again = _open(tree, actor)
    assert again.proc is first.proc and again.ancestors is first.ancestors
    assert [a.name for a in again.ancestors] == ["sh", "init"]


def test_an_ancestor_exec_shows_in_the_next_answer() -> None:
    tree = ProcessTree()
    tree.seed([_proc(1, 0, "init", 1), _proc(10, 1, "sh", 10), _proc(11, 10, "cat", 11)])
    actor = Process(pid=11, ppid=10, name="cat", start_ns=11)
    assert [a.name for a in _open(tree, actor).ancestors] == ["sh", "init"]
    tree.apply(Event(type="execve", ts=2, proc=_proc(10, 1, "bash", 10)))
    assert [a.name for a in _open(tree, actor).ancestors] == ["bash", "init"]


def test_the_actor_exec_and_exit_show_in_the_next_answer() -> None:
    tree = ProcessTree()
    tree.seed([_proc(1, 0, "init", 1), _proc(10, 1, "sh", 10)])
    actor = Process(pid=10, ppid=1, name="sh", start_ns=10)
    assert _open(tree, actor).proc.argv == ("sh",)
    tree.apply(Event(type="execve", ts=2, proc=_proc(10, 1, "sh", 10)))
    tree.apply(
        Event(
            type="execve",
            ts=3,
            proc=Process(pid=10, ppid=1, name="sh", argv=("sh", "-x"), start_ns=10),
        )
    )
    assert _open(tree, actor).proc.argv == ("sh", "-x")
    tree.apply(Event(type="procexit", ts=4, proc=Process(pid=10)))
    assert _open(tree, actor).proc.argv == ()  # no longer live: the event's own identity


def test_a_reused_parent_pid_ends_the_ancestry() -> None:
    tree = ProcessTree()
    tree.seed([_proc(1, 0, "init", 1), _proc(10, 1, "sh", 10), _proc(11, 10, "cat", 11)])
    actor = Process(pid=11, ppid=10, name="cat", start_ns=11)
    assert len(_open(tree, actor).ancestors) == 2
    tree.apply(Event(type="procexit", ts=2, proc=Process(pid=10)))
    tree.apply(Event(type="execve", ts=3, proc=_proc(10, 1, "young", 30)))
    assert _open(tree, actor).ancestors == ()
