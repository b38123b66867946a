"""Events from a sensor that names the actor but not its image (eBPF) get the image from
the tree; the event's own identity (credentials, comm) is kept."""

from __future__ import annotations

from stockade.context import ProcessTree
from stockade.model import Event, FdInfo, Process, ProcSnapshot


def _exec() -> Event:
    proc = Process(pid=10, ppid=1, name="cat", exepath="/usr/bin/cat", argv=("cat", "/etc/x"),
                   cwd="/tmp", uid=0, start_ns=5)  # fmt: skip
    return Event(type="execve", ts=1, proc=proc)


def test_later_events_take_the_image_from_the_tree() -> None:
    tree = ProcessTree()
    tree.apply(_exec())
    opened = Event(
        type="openat", ts=2, proc=Process(pid=10, ppid=1, name="cat", uid=1000, start_ns=5),
        fd=FdInfo(name="/etc/x"),
    )  # fmt: skip
    proc = tree.apply(opened).proc
    assert (proc.exepath, proc.argv, proc.cwd) == ("/usr/bin/cat", ("cat", "/etc/x"), "/tmp")
    assert (proc.uid, proc.cmdline) == (1000, "cat /etc/x")


def test_a_forked_child_runs_its_parents_image() -> None:
    tree = ProcessTree()
    tree.apply(_exec())
    child = Process(pid=11, tid=11, ppid=10, name="cat", start_ns=6)
    proc = tree.apply(Event(type="clone", ts=3, proc=child)).proc
    assert (proc.pid, proc.exepath, proc.argv) == (11, "/usr/bin/cat", ("cat", "/etc/x"))
    later = Event(type="connect", ts=4, proc=Process(pid=11, ppid=10, name="cat", start_ns=6))
    assert tree.apply(later).proc.exepath == "/usr/bin/cat"


def test_a_reused_pid_does_not_take_an_old_image() -> None:
    tree = ProcessTree()
    tree.apply(_exec())
    other = Event(type="openat", ts=5, proc=Process(pid=10, name="sh", start_ns=99))
    assert tree.apply(other).proc.exepath == ""


def test_the_field_checks_name_every_field_of_their_kind() -> None:
    """`_has_image` and `_same_identity` spell out their fields: each must still see
    exactly one kind, and the two kinds together every field of Process."""
    from stockade.context.tree import _IDENTITY_FIELDS, _IMAGE_FIELDS, _has_image, _same_identity

    assert sorted(_IDENTITY_FIELDS + _IMAGE_FIELDS) == sorted(Process.__struct_fields__)
    base = Process(pid=10)
    defaults = {f: getattr(base, f) for f in Process.__struct_fields__}
    for field in Process.__struct_fields__:
        value = defaults[field]
        other = {bool: True, int: 7, str: "x", tuple: ("x",), type(None): ProcSnapshot()}[
            type(value)
        ]
        changed = Process(**{**defaults, field: other})
        assert _has_image(changed) == (field in _IMAGE_FIELDS), field
        assert _same_identity(changed, base) == (field not in _IDENTITY_FIELDS), field


def test_processes_gone_from_the_table_are_not_kept_by_its_caches() -> None:
    """A busy host runs thousands of short processes: once one has left the table (dead
    past `max_dead`, or replaced by an exec), no per-object cache holds it (and its /proc
    details) any more."""
    tree = ProcessTree(max_dead=8)
    tree.apply(Event(type="execve", ts=1, proc=Process(pid=1, name="sh", exepath="/bin/sh")))
    for pid in range(100, 600):
        tree.apply(Event(type="clone", ts=2, proc=Process(pid=pid, tid=pid, ppid=1, start_ns=3)))
        image = Process(pid=pid, ppid=1, name="true", exepath="/bin/true", start_ns=3)
        tree.apply(Event(type="execve", ts=3, proc=image))
        tree.apply(
            Event(type="openat", ts=4, proc=Process(pid=pid, ppid=1, name="true", start_ns=3))
        )
        tree.apply(Event(type="procexit", ts=5, proc=Process(pid=pid, ppid=1, start_ns=3)))
    caches = (tree._summaries, tree._images, tree._memo)
    held = {hit[0].pid for cache in caches for hit in cache.values()}
    assert len(held) <= 1 + 8  # the shell and the processes still in the dead table
    assert sum(len(cache) for cache in caches) <= 3 * (1 + 8)


def test_an_exit_lets_go_of_what_merging_kept() -> None:
    """Events are merged with live entries only: at a process's exit the merged answers
    and the image kept for that go, while the dead table still gives its ancestry."""
    tree = ProcessTree()
    tree.apply(Event(type="execve", ts=1, proc=Process(pid=1, name="sh", exepath="/bin/sh")))
    for pid in range(100, 110):
        tree.apply(Event(type="clone", ts=2, proc=Process(pid=pid, tid=pid, ppid=1, start_ns=3)))
        image = Process(pid=pid, ppid=1, name="true", exepath="/bin/true", start_ns=3)
        tree.apply(Event(type="execve", ts=3, proc=image))
        actor = Process(pid=pid, ppid=1, name="true", start_ns=3)
        assert tree.apply(Event(type="openat", ts=4, proc=actor)).proc.exepath == "/bin/true"
        tree.apply(Event(type="procexit", ts=5, proc=Process(pid=pid, ppid=1, start_ns=3)))
    held = {hit[0].pid for cache in (tree._images, tree._memo) for hit in cache.values()}
    assert held <= {1}
    late = tree.apply(Event(type="openat", ts=6, proc=Process(pid=200, ppid=109, start_ns=4)))
    assert [a.pid for a in late.ancestors] == [109, 1]
