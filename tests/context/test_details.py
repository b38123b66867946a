"""The context stage asks its ProcessDetails at exec and names every event's ids; names
follow the ids (setuid, then exec), never the process's earlier identity."""

from __future__ import annotations

from pathlib import Path

import msgspec

from stockade.context import ContainerResolver, ContextStage, ProcessTree
from stockade.model import Event, Process
from stockade.sensor import procfs

NAMES = {0: "root", 1: "daemon", 1000: "alice"}


class FakeDetails:
    """Environment at exec from a table; names from NAMES by effective uid."""

    def __init__(self) -> None:
        self.execs: list[int] = []

    def at_exec(self, proc: Process) -> Process:
        self.execs.append(proc.pid)
        return msgspec.structs.replace(proc, env=("MARK=1",))

    def named(self, proc: Process, *, fresh: bool = False) -> Process:
        del fresh
        return msgspec.structs.replace(proc, user=NAMES.get(proc.euid, ""))


def _stage(details: FakeDetails) -> ContextStage:
    tree = ProcessTree()
    tree.seed([Process(pid=10, name="sh", euid=0, uid=0, user="root", start_ns=1)])
    return ContextStage(tree, ContainerResolver([]), details=details)


def _proc(name: str, euid: int) -> Process:
    return Process(pid=10, ppid=1, name=name, uid=euid, euid=euid, start_ns=1)


def test_exec_reads_details_and_names_follow_the_uid() -> None:
    details = FakeDetails()
    stage = _stage(details)
    before = stage.enrich(Event(type="openat", ts=1, proc=_proc("sh", 0)))
    assert before.proc.user == "root"
    changed = stage.enrich(Event(type="setuid", ts=2, proc=_proc("sh", 1), args={"uid": 1}))
    assert (changed.proc.euid, changed.proc.user) == (1, "daemon")
    execed = stage.enrich(Event(type="execve", ts=3, proc=_proc("sleep", 1)))
    assert (execed.proc.euid, execed.proc.user, execed.proc.env) == (1, "daemon", ("MARK=1",))
    assert details.execs == [10]
    after = stage.enrich(Event(type="openat", ts=4, proc=_proc("sleep", 1)))
    assert (after.proc.user, after.proc.env) == ("daemon", ("MARK=1",))


def test_the_tree_alone_drops_a_name_when_the_uid_changed() -> None:
    tree = ProcessTree()
    tree.seed([Process(pid=10, name="sh", euid=0, uid=0, user="root", start_ns=1)])
    execed = tree.apply(Event(type="execve", ts=3, proc=_proc("sleep", 1)))
    assert execed.proc.user == ""


def test_user_names_read_the_passwd_and_group_of_the_process_root(tmp_path: Path) -> None:
    etc = tmp_path / "42" / "root" / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n")
    (etc / "group").write_text("root:x:0:\nwww:x:33:\n")
    users = procfs.UserNames()
    assert users.lookup(42, 33, tmp_path) == "web"
    assert users.account(42, 33, tmp_path) == ("web", "/var/www", "/bin/false")
    assert users.group(42, 33, tmp_path) == "www"
    assert users.lookup(42, 7, tmp_path) == ""
    (etc / "passwd").write_text("root:x:0:0::/root:/bin/sh\nnginx:x:33:33::/:/bin/false\n")
    assert users.lookup(42, 33, tmp_path) == "nginx"
