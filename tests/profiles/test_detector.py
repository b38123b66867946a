"""Profiles learned in discover, deviations alerted once in monitor, drift alerted."""

from __future__ import annotations

import msgspec
import pytest

from stockade.model import Event
from stockade.model.entities import Container
from stockade.model.events import Ancestor, FdInfo, Process
from stockade.profiles.detector import DEVIATION_RULE, DRIFT_RULE, ProfileDetector
from stockade.profiles.groups import group_id
from stockade.profiles.modes import GroupState, Mode
from stockade.profiles.profile import (
    Behaviour,
    Kind,
    Profile,
    ProfileFormatError,
    from_yaml,
    merged,
    to_yaml,
)
from stockade.profiles.verdict import ExecVerdict

WEB = Container(id="c" * 64, name="web", image_repository="localhost/web")


def _exec(path: str, *, parent: str = "/bin/sh", upper: bool = False, memfd: bool = False) -> Event:
    proc = Process(pid=10, exepath=path, uid=0, exe_upper_layer=upper, exe_from_memfd=memfd)
    return Event(
        type="execve", ts=1, proc=proc, container=WEB, ancestors=(Ancestor(pid=1, exepath=parent),)
    )


def _connect(ip: str, port: int) -> Event:
    fd = FdInfo(type="ipv4", dip=ip, dport=port)
    return Event(
        type="connect", ts=1, proc=Process(pid=10, exepath="/usr/bin/curl"), container=WEB, fd=fd
    )


def _detector(process: Mode, network: Mode = Mode.DISCOVER) -> ProfileDetector:
    detector = ProfileDetector(hasher=lambda _e: "sha256:ab", clock=lambda: 0)
    state = GroupState(first_seen_ns=0, process=process, network=network)
    detector.book.set_state(group_id(WEB), state)
    return detector


def test_discover_learns_without_alerts_then_monitor_alerts_once_per_new_thing() -> None:
    detector = _detector(Mode.DISCOVER)
    assert detector.inspect(_exec("/usr/bin/python3")) == []
    learned = detector.book.take_learned()[group_id(WEB)]
    assert Behaviour(Kind.EXEC_HASH, "/usr/bin/python3 sha256:ab") in learned
    assert Behaviour(Kind.PARENT, "/bin/sh -> /usr/bin/python3") in learned
    detector.book.set_state(group_id(WEB), GroupState(first_seen_ns=0, process=Mode.MONITOR))
    assert detector.inspect(_exec("/usr/bin/python3")) == []
    [alert] = detector.inspect(_exec("/usr/bin/id"))
    assert alert.rule == DEVIATION_RULE and alert.output_fields["profile.mode"] == "monitor"
    assert alert.output_fields["profile.new"] == "/usr/bin/id"
    new = str(alert.output_fields["profile.all_new"])
    assert "executable_hashes: /usr/bin/id sha256:ab" in new
    assert "parents: /bin/sh -> /usr/bin/id" in new
    assert detector.inspect(_exec("/usr/bin/id")) == []  # repeats: deduplicated


def test_network_has_its_own_mode() -> None:
    detector = _detector(Mode.MONITOR, Mode.DISCOVER)
    assert detector.inspect(_connect("10.88.0.5", 80)) == []
    detector.book.set_state(group_id(WEB), GroupState(first_seen_ns=0, network=Mode.MONITOR))
    [alert] = detector.inspect(_connect("10.88.0.5", 8080))
    assert alert.output_fields["profile.new"] == "10.88.0.5:8080"


@pytest.mark.parametrize(
    ("upper", "memfd", "killer", "action"),
    [
        (True, False, False, "alert"),
        (True, False, True, "killed"),
        (False, True, True, "killed"),
    ],
    ids=["upper-no-killer", "upper", "memfd"],
)
def test_drift_is_alerted_and_protect_says_what_it_did(
    upper: bool, memfd: bool, killer: bool, action: str
) -> None:
    """An exec that ran is no refusal: killed at exec where protect can kill, else alerted."""
    detector = _detector(Mode.PROTECT)
    if killer:
        detector.on_kill = lambda _event: None
    [drift] = detector.inspect(_exec("/tmp/x", upper=upper, memfd=memfd))
    assert drift.rule == DRIFT_RULE and drift.priority == "Critical"
    assert drift.output_fields["profile.action"] == action


def test_an_unknown_exec_that_ran_unguarded_is_killed_and_recorded_so() -> None:
    """A new container's entrypoint and first execs run before the guard is on it: protect
    kills each unknown one at exec, and says so (not refused, not a mere alert) and why."""
    detector = _detector(Mode.PROTECT)
    detector.book.replace(
        merged(Profile(group=group_id(WEB)), [Behaviour(Kind.EXEC, "/usr/bin/python3")])
    )
    killed: list[str] = []
    detector.on_kill = lambda event: killed.append(event.proc.exepath)
    [alert] = detector.inspect(_exec("/usr/bin/sleep", parent="/"))  # the entrypoint
    assert alert.output_fields["profile.action"] == "killed"
    assert alert.output_fields["profile.new"] == "/usr/bin/sleep"
    assert "not in the learned profile" in str(alert.output_fields["profile.reason"])
    assert "action=killed" in alert.output and "before the exec guard" in alert.output
    assert detector.inspect(_exec("/", parent="/usr/bin/conmon")) == []  # runc init lives
    assert detector.inspect(_exec("/usr/bin/python3")) != []  # learned path, new parent
    detector.inspect(_exec("/usr/bin/sleep", parent="/"))  # alerted once, killed again
    assert killed == ["/usr/bin/sleep", "/usr/bin/sleep"]


def test_only_the_guards_refusals_are_recorded_as_refused() -> None:
    detector = _detector(Mode.PROTECT)
    detector.inspect(_connect("10.88.0.5", 80))  # the container is seen
    [ran] = detector.inspect(_exec("/usr/bin/id"))  # before the guard was on it, no killer
    assert ran.output_fields["profile.action"] == "alert"
    detector.refused(WEB.id, "/usr/bin/nc", ExecVerdict(False, "not in the learned profile"))
    [refused] = detector.inspect(_connect("10.88.0.5", 80))  # drained with the next event
    assert refused.output_fields["profile.new"] == "/usr/bin/nc"
    assert refused.output_fields["profile.action"] == "refused"


def test_protect_kills_every_memfd_exec_though_it_alerts_once() -> None:
    detector = _detector(Mode.PROTECT)
    killed: list[int] = []
    detector.on_kill = lambda event: killed.append(event.proc.pid)
    [alert] = detector.inspect(_exec("/memfd:x", memfd=True))
    assert alert.output_fields["profile.action"] == "killed"
    assert detector.inspect(_exec("/memfd:x", memfd=True)) == []  # deduplicated alert
    assert killed == [10, 10]  # but killed again
    detector.book.set_state(group_id(WEB), GroupState(first_seen_ns=0, process=Mode.MONITOR))
    detector.inspect(_exec("/memfd:x", memfd=True))
    assert killed == [10, 10]  # monitor only alerts


def test_a_file_run_while_discovering_is_no_drift_later_unless_its_content_changed() -> None:
    hashes = iter(["sha256:ab", "sha256:ab", "sha256:ff", "sha256:ab", "sha256:ab"])
    detector = ProfileDetector(hasher=lambda _e: next(hashes), clock=lambda: 0)
    detector.book.set_state(group_id(WEB), GroupState(first_seen_ns=0, process=Mode.DISCOVER))
    installed = "/usr/local/bin/tool"  # a package installed while the group discovered
    assert detector.inspect(_exec(installed, upper=True)) == []
    detector.book.set_state(group_id(WEB), GroupState(first_seen_ns=0, process=Mode.MONITOR))
    assert detector.inspect(_exec(installed, upper=True)) == []
    [drift] = detector.inspect(_exec(installed, upper=True))  # replaced: another sha256
    assert drift.rule == DRIFT_RULE
    memfd = _exec("/memfd:x", memfd=True)
    detector.book.set_state(group_id(WEB), GroupState(first_seen_ns=0, process=Mode.DISCOVER))
    assert detector.inspect(memfd) == []
    detector.book.set_state(group_id(WEB), GroupState(first_seen_ns=0, process=Mode.MONITOR))
    [from_memory] = detector.inspect(memfd)  # a memfd is drift however often it ran
    assert from_memory.rule == DRIFT_RULE


def test_yaml_round_trip_and_one_line_errors() -> None:
    profile = merged(Profile(group=group_id(WEB), version=3), [Behaviour(Kind.EXEC, "/bin/sh")])
    again = from_yaml(to_yaml(profile), "p.yaml")
    assert again == profile
    with pytest.raises(ProfileFormatError, match=r"^p\.yaml: unknown key 'exec'"):
        from_yaml("group: g\nexec: [/bin/sh]\n", "p.yaml")
    with pytest.raises(ProfileFormatError, match=r"^p\.yaml:2:"):
        from_yaml("group: g\n  - : [\n", "p.yaml")


def test_a_pushed_profile_keeps_what_was_learned_but_not_sent() -> None:
    detector = _detector(Mode.DISCOVER)
    detector.inspect(_exec("/usr/bin/python3"))
    detector.book.replace(Profile(group=group_id(WEB), version=2))
    assert detector.book.profile(group_id(WEB)).has(Behaviour(Kind.EXEC, "/usr/bin/python3"))


def test_the_runtimes_sealed_copy_of_itself_is_no_behaviour() -> None:
    detector = _detector(Mode.MONITOR)
    assert detector.inspect(_exec("/", parent="/usr/bin/conmon")) == []  # runc init
    [alert] = detector.inspect(_exec("/usr/bin/sleep", parent="/"))  # started by it
    assert "parents: <runtime> -> /usr/bin/sleep" in str(alert.output_fields["profile.all_new"])


def test_the_runtimes_own_writes_are_no_behaviour() -> None:
    detector = _detector(Mode.MONITOR)
    hosts = FdInfo(type="file", name="/var/lib/containers/storage/overlay/x/merged/etc/hosts",
                   flags=0o1101)  # fmt: skip
    runc = Process(pid=10, exepath="/usr/sbin/runc")
    write = Event(type="openat", ts=1, proc=runc, container=WEB, fd=hosts)
    assert detector.inspect(write) == []
    app = Event(type="openat", ts=1, proc=Process(pid=11, exepath="/app"), container=WEB, fd=hosts)
    assert detector.inspect(app) != []


def test_a_container_first_seen_unresolved_is_considered_again_once_complete() -> None:
    detector = _detector(Mode.DISCOVER)
    considered: list[Container] = []
    detector.on_container = considered.append
    partial = msgspec.structs.replace(WEB, pid=42, complete=False)
    complete = msgspec.structs.replace(WEB, pid=42, labels={"stockade.group": "shop"})
    for container in (partial, partial, complete, complete):
        event = msgspec.structs.replace(_exec("/usr/bin/true"), container=container)
        detector.inspect(event)
    # once unresolved, once with its labels (its group), then never again for the same one
    assert considered == [partial, complete]
    assert detector.containers[WEB.id] is complete
