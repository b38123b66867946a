"""The storyline: a process tree from the container's top processes down to the offenders."""

from __future__ import annotations

import itertools

from stockade.detect.storyline import Offender, StoryEvent, build_storyline
from stockade.model.entities import Container
from stockade.model.events import Ancestor, Event, FdInfo, Process

WEB = Container(id="c0" * 32, name="web")
_seqs = itertools.count(1)
# (pid, vpid, start_ns, name, argv) of a container: conmon (host side) -> sleep (entrypoint),
# and conmon -> bash (podman exec) -> nc, bash -> cat; a benign ls beside the entrypoint
CONMON = Ancestor(pid=100, vpid=100, start_ns=1, name="conmon", argv=("conmon",))
ENTRY = Ancestor(pid=101, vpid=1, start_ns=2, name="sleep", argv=("sleep", "600"))
NC_PEER = "10.88.0.2:5->10.88.0.9:4444"
BASH = Ancestor(pid=200, vpid=5, start_ns=3, name="bash", argv=("bash", "-i"))


def event(
    type: str,
    pid: int,
    vpid: int,
    start: int,
    argv: tuple[str, ...],
    ancestors: tuple[Ancestor, ...],
    fd: FdInfo | None = None,
) -> StoryEvent:
    proc = Process(pid=pid, vpid=vpid, start_ns=start, name=argv[0], argv=argv)
    e = Event(
        type=type, ts=next(_seqs), proc=proc, container=WEB, ancestors=ancestors, fd=fd,
        seq=next(_seqs),
    )  # fmt: skip
    return StoryEvent("agent-1", e)


def attack() -> list[StoryEvent]:
    return [
        event("execve", 101, 1, 2, ("sleep", "600"), (CONMON,)),
        event("execve", 200, 5, 3, ("bash", "-i"), (CONMON,)),
        event("execve", 201, 6, 4, ("nc", "10.88.0.9", "4444"), (BASH, CONMON)),
        event("connect", 201, 6, 4, ("nc",), (BASH, CONMON), FdInfo(name=NC_PEER)),
        event("execve", 202, 7, 5, ("cat", "/etc/shadow"), (BASH, CONMON)),
        event("openat", 202, 7, 5, ("cat",), (BASH, CONMON), FdInfo(name="/tmp/x", flags=0o101)),
        event("openat", 202, 7, 5, ("cat",), (BASH, CONMON), FdInfo(name="/etc/shadow")),
        event("execve", 300, 8, 6, ("ls",), (ENTRY, CONMON)),
    ]  # fmt: skip


def test_tree_runs_from_the_exec_session_down_to_the_offender_and_drops_the_rest() -> None:
    story = build_storyline(attack(), [Offender(201, 4, "Reverse shell", 99, "u1")])
    names = {n.key: n.name for n in story.nodes}
    assert [names[k] for k in story.roots] == ["bash"]  # conmon is outside the container
    assert [n.name for n in story.nodes] == ["bash", "nc"]  # cat, sleep and ls are not on it
    nc = story.nodes[1]
    assert nc.parent == story.nodes[0].key
    assert nc.offending and nc.rules == ["Reverse shell"]
    assert [(s.kind, s.summary) for s in nc.steps] == [
        ("exec", "nc 10.88.0.9 4444"),
        ("connect", "connect 10.88.0.2:5->10.88.0.9:4444"),
        ("alert", "Reverse shell"),
    ]


def test_file_writes_are_steps_and_reads_are_not() -> None:
    story = build_storyline(attack(), [Offender(202, 5, "Read shadow", 99, "u2")])
    cat = story.nodes[-1]
    assert cat.name == "cat"
    assert [s.kind for s in cat.steps] == ["exec", "write", "alert"]
    assert cat.steps[1].summary == "openat /tmp/x"


def test_without_a_known_offender_every_process_of_the_container_is_shown() -> None:
    story = build_storyline(attack(), [])
    assert sorted(n.name for n in story.nodes) == ["bash", "cat", "ls", "nc", "sleep"]
    assert sorted(story.nodes[i].name for i, n in enumerate(story.nodes) if not n.parent) == [
        "bash",
        "sleep",
    ]


def test_on_a_host_the_oldest_known_ancestor_is_the_top() -> None:
    init = Ancestor(pid=1, vpid=1, start_ns=0, name="systemd")
    sshd = Ancestor(pid=50, vpid=50, start_ns=1, name="sshd")
    shell = Ancestor(pid=60, vpid=60, start_ns=2, name="bash")
    nc = Process(pid=70, vpid=70, start_ns=3, name="nc", argv=("nc", "-l"))
    events = [
        StoryEvent("a", Event(type="execve", ts=5, seq=1, proc=nc, ancestors=(shell, sshd, init)))
    ]
    story = build_storyline(events, [Offender(70, 3, "nc", 5, "u")], on_host=True)
    assert [n.name for n in story.nodes] == ["systemd", "sshd", "bash", "nc"]
    assert [story.nodes[0].key] == list(story.roots)


def test_a_repeat_of_an_offender_whose_alert_is_still_counted_at_the_agent_is_kept() -> None:
    first = event("execve", 210, 9, 9, ("nc", "10.88.0.9", "4444"), (BASH, CONMON))
    again = event("execve", 211, 10, 10, ("nc", "10.88.0.9", "4444"), (BASH, CONMON))
    shell = event("execve", 211, 10, 10, ("sh",), (BASH, CONMON))
    later = event("execve", 212, 11, 11, ("sh",), (BASH, CONMON))  # ran sh only: not kept
    alert = Offender(210, 9, "nc", first.event.ts, "u")
    story = build_storyline([first, again, shell, later], [alert])
    assert [(n.pid, n.name, n.offending) for n in story.nodes] == [
        (200, "bash", False),
        (210, "nc", True),
        (211, "sh", False),
    ]
