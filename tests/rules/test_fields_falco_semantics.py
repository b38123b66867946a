"""The fields added for Falco's full reference, over events (the pure parts)."""

from __future__ import annotations

import pytest

from stockade.model import Ancestor, Event, FdInfo, Process, ProcSnapshot, StdFd
from stockade.model.entities import Container
from stockade.rules import load_rules
from tests.support.fields import field_value

SNAPSHOT = ProcSnapshot(
    pgid=40,
    fdlimit=1024,
    fd_count=256,
    vmsize_kb=9000,
    vmrss_kb=3000,
    vmswap_kb=0,
    pfmajor=2,
    pfminor=700,
    nthreads=3,
    stdio=(StdFd(type="file", name="/dev/null"), StdFd(type="pipe", name="pipe:[77]"), StdFd()),
    cgroups=(("cpu", "/libpod_parent/x"), ("memory", "/libpod_parent/x")),
)
EVENT = Event(
    type="openat",
    ts=5_000_000_000,
    res=-13,
    proc=Process(
        pid=42,
        tid=43,
        vpid=7,
        vpgid=6,
        name="cat",
        argv=("cat", "../../etc/shadow"),
        env=("HOME=/root", "LANG=C"),
        snapshot=SNAPSHOT,
    ),
    ancestors=(
        Ancestor(pid=41, vpid=6, name="bash", env=("TERM=xterm", "LANG=fr")),
        Ancestor(pid=40, vpid=5, name="sh", argv=("/bin/sh", "-c", "x"), env=("SECRET=1",)),
        Ancestor(pid=1, vpid=1, name="systemd"),
    ),
    fd=FdInfo(num=3, type="file", name="/etc/shadow", nameraw="../../etc/shadow"),
    container=Container(id="a" * 64, name="web", start_ts=1_000_000_000),
)
SOCKET = Event(
    type="connect",
    ts=1,
    proc=Process(pid=9),
    fd=FdInfo(
        num=4,
        type="ipv4",
        l4proto="tcp",
        sip="10.0.0.1",
        sport=40000,
        dip="10.0.0.2",
        dport=22,
        is_server=False,
    ),
)
POLL = Event(
    type="poll",
    ts=1,
    proc=Process(pid=9),
    args={"fds": [0, {"num": 4, "type": "ipv4", "name": "a->b", "sip": "10.0.0.1", "sport": 5}]},
)


@pytest.mark.parametrize(
    ("event", "field", "arg", "expected"),
    [
        (EVENT, "proc.env", None, "HOME=/root LANG=C"),
        (EVENT, "fd.name_changed", None, False),  # an open names a new fd
        (SOCKET, "fd.name_changed", None, True),  # a connect renames its socket
        (EVENT, "proc.env", "LANG", "C"),
        (EVENT, "proc.aenv", None, "HOME=/root LANG=C"),
        (EVENT, "proc.aenv", "2", "SECRET=1"),
        (EVENT, "proc.aenv", "LANG", "fr"),
        (EVENT, "proc.aenv", "SECRET", "1"),
        (EVENT, "proc.loginshellid", None, 40),
        (EVENT, "proc.pvpid", None, 6),
        (EVENT, "proc.pgid", None, 40),
        (EVENT, "proc.pgid.name", None, "sh"),
        (EVENT, "proc.vpgid.name", None, "bash"),
        (EVENT, "proc.pgid.exe", None, "/bin/sh"),
        (EVENT, "proc.is_pgid_leader", None, False),
        (EVENT, "proc.pidns_init_start_ts", None, 1_000_000_000),
        (EVENT, "proc.fdopencount", None, 256),
        (EVENT, "proc.fdusage", None, 0.25),
        (EVENT, "proc.nthreads", None, 3),
        (EVENT, "proc.nchilds", None, 2),
        (EVENT, "proc.stdin.type", None, "file"),
        (EVENT, "proc.stdout.name", None, "pipe:[77]"),
        (EVENT, "proc.stderr.type", None, None),
        (EVENT, "thread.ismain", None, False),
        (EVENT, "thread.vmsize", None, 0),
        (EVENT, "proc.vmsize", None, 9000),
        (EVENT, "thread.cgroups", None, "cpu=/libpod_parent/x memory=/libpod_parent/x"),
        (EVENT, "thread.cgroup.memory", None, "/libpod_parent/x"),
        (EVENT, "fd.nameraw", None, "../../etc/shadow"),
        (EVENT, "fd.name", None, "/etc/shadow"),
        (EVENT, "evt.count.error", None, 1),
        (EVENT, "evt.count.error.file", None, 1),
        (EVENT, "evt.count.error.net", None, None),
        (EVENT, "evt.count.exit", None, 1),
        (EVENT, "evt.is_io", None, False),
        (SOCKET, "evt.count.error", None, 0),
        (SOCKET, "fd.sproto", None, "ssh"),
        (SOCKET, "fd.rproto", None, "ssh"),
        (SOCKET, "fd.cproto", None, "40000"),
        (SOCKET, "fd.proto", None, (40000, 22)),
        (POLL, "fdlist.nums", None, "0,4"),
        (POLL, "fdlist.names", None, "<NA>,a->b"),
        (POLL, "fdlist.cips", None, "10.0.0.1"),
        (POLL, "fdlist.cports", None, "5"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_field_values(event: Event, field: str, arg: str | None, expected: object) -> None:
    assert field_value(event, field, arg) == expected


def test_fields_without_a_snapshot_are_not_available() -> None:
    bare = Event(type="openat", ts=1, proc=Process(pid=3))
    for field in ("proc.fdlimit", "proc.stdin.type", "proc.pgid", "thread.cgroups"):
        assert field_value(bare, field) is None, field


def test_evt_around_accepts_events_within_the_window() -> None:
    rules = load_rules(
        [],
        sources=[
            (
                "around.yaml",
                "- rule: near\n  desc: d\n  condition: evt.around[5000000000]=1000\n"
                "  output: o\n  priority: INFO\n",
            )
        ],
    )
    assert rules.ok, rules.errors
    assert rules.matches(EVENT)
    far = Event(type="openat", ts=7_000_000_000, proc=Process(pid=1))
    assert not rules.matches(far)
