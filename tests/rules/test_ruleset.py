"""Loading Falco's rule files, evaluating events, alert shape and hot reload."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.detect.rules import RulesDetector
from stockade.model import Ancestor, Event, FdInfo, Process
from stockade.model.entities import Container
from stockade.rules import load_rules

CID = "ab" * 32
RULE = """
- list: shells
  items: [bash, sh]
- macro: spawned
  condition: evt.type in (execve, execveat)
- rule: Shell in container
  desc: a shell started in a container
  condition: spawned and proc.name in (shells) and container.id != host
  output: shell %proc.name in %container.id (parent=%proc.pname flags=%evt.arg.flags)
  priority: WARNING
  tags: [shell]
"""


def _falco(corpus: Path) -> list[Path]:
    return [
        corpus / "falco/rules/falco_rules.yaml",
        corpus / "falco/rules/falco-incubating_rules.yaml",
    ]


def _exec(name: str, container: Container | None = None) -> Event:
    return Event(
        type="execve",
        ts=1_700_000_000_123_456_789,
        proc=Process(pid=42, name=name, exepath=f"/bin/{name}", argv=(name, "-i"), euid=0),
        container=container or Container(id=CID, name="web", image_repository="nginx"),
        ancestors=(Ancestor(pid=1, name="runc"),),
        seq=7,
        host_id="h1",
    )


def test_falco_rule_files_load_without_errors(corpus: Path) -> None:
    ruleset = load_rules(_falco(corpus))
    assert ruleset.errors == []
    assert len(ruleset.rules) == 56
    assert all(r.event_types is not None for r in ruleset.rules)


def test_alert_has_falco_shape() -> None:
    ruleset = load_rules([], sources=[("inline.yaml", RULE)])
    (alert,) = ruleset.evaluate(_exec("bash"))
    assert alert.rule == "Shell in container"
    assert alert.priority == "Warning"
    assert alert.time == "2023-11-14T22:13:20.123456789Z"
    assert alert.output == (
        "22:13:20.123456789: Warning shell bash in abababababab (parent=runc flags=<NA>)"
        " container_name=web"  # the container plugin's suggested field the rule lacks
    )
    assert alert.output_fields["container.id"] == "abababababab"
    assert alert.output_fields["container.name"] == "web"
    assert "container.image.tag" in alert.output_fields
    assert alert.output_fields["evt.arg.flags"] is None
    assert alert.tags == ["shell"]
    assert (alert.container_id, alert.event_seq, alert.host_id) == (CID, 7, "h1")


def test_index_limits_candidates_and_host_is_excluded() -> None:
    ruleset = load_rules([], sources=[("inline.yaml", RULE)])
    assert ruleset.candidates("openat") == ()
    assert ruleset.evaluate(_exec("bash", Container.host())) == []
    assert ruleset.evaluate(_exec("python3")) == []


def test_sensitive_file_read_fires(corpus: Path) -> None:
    ruleset = load_rules(_falco(corpus))
    event = Event(
        type="openat",
        ts=1,
        proc=Process(pid=5, name="cat", exepath="/bin/cat", argv=("cat", "/etc/shadow"), euid=0),
        ancestors=(Ancestor(pid=4, name="bash"),),
        fd=FdInfo(num=3, type="file", name="/etc/shadow", flags=0),
    )
    assert "Read sensitive file untrusted" in [r.name for r in ruleset.matches(event)]


def test_bad_file_is_refused_whole_and_good_one_kept() -> None:
    bad = "- rule: broken\n  desc: d\n  condition: proc.nam = x\n  output: o\n  priority: INFO\n"
    ruleset = load_rules([], sources=[("good.yaml", RULE), ("bad.yaml", bad)])
    assert [e.code for e in ruleset.errors] == ["LOAD_ERR_COMPILE_CONDITION"]
    assert ruleset.errors[0].file == "bad.yaml"
    assert [r.name for r in ruleset.rules] == ["Shell in container"]


@pytest.mark.parametrize(
    ("condition", "column"), [("evt.type = execve and", 35), ("proc.name =", 25)]
)
def test_syntax_error_position_is_in_the_file(condition: str, column: int) -> None:
    text = f"- rule: r\n  desc: d\n  condition: {condition}\n  output: o\n  priority: INFO\n"
    (error,) = load_rules([], sources=[("f.yaml", text)]).errors
    assert (error.line, error.column) == (3, column)


def test_reload_swaps_and_refuses_errors() -> None:
    detector = RulesDetector(load_rules([], sources=[("a.yaml", RULE)]))
    assert len(detector.inspect(_exec("bash"))) == 1
    bad = "- macro: m\n  condition: (\n"
    errors = detector.reload([], sources=[("b.yaml", bad)])
    assert errors and errors[0].code == "LOAD_ERR_COMPILE_CONDITION"
    assert len(detector.inspect(_exec("bash"))) == 1
    assert detector.reload([], sources=[("c.yaml", "[]")]) == []
    assert detector.inspect(_exec("bash")) == []


def _varied_events() -> list[Event]:
    names = ["cat", "bash", "nginx", "sshd", "python3", "systemd", "sudo", "crontab"]
    paths = ["/etc/shadow", "/etc/ld.so.cache", "/root/.bashrc", "/var/log/syslog", "/dev/x"]
    events = []
    for i in range(120):
        name = names[i % len(names)]
        proc = Process(
            pid=i + 10,
            name=name,
            exepath=f"/usr/bin/{name}",
            argv=(name, "-x"),
            euid=i % 2 * 1000,
            tty=i % 3,
            loginuid=-1 if i % 4 else 1000,
        )
        ancestors = (
            Ancestor(pid=2, name=names[(i + 3) % len(names)]),
            Ancestor(pid=1, name="init"),
        )
        container = Container(id=CID, name="web") if i % 2 else Container.host()
        kind = i % 4
        if kind in (0, 1):
            fd = FdInfo(num=3, type="file", name=paths[i % len(paths)], flags=(0, 1, 0o101)[i % 3])
            events.append(
                Event(
                    type="openat", ts=i, proc=proc, ancestors=ancestors, fd=fd, container=container
                )
            )
        elif kind == 2:
            fd = FdInfo(
                num=4,
                type="ipv4",
                l4proto="tcp",
                sip="10.88.0.2",
                sport=5000 + i,
                dip=("169.254.169.254", "8.8.8.8", "127.0.0.1")[i % 3],
                dport=80,
            )
            events.append(
                Event(
                    type="connect", ts=i, proc=proc, ancestors=ancestors, fd=fd, container=container
                )
            )
        else:
            events.append(
                Event(type="execve", ts=i, proc=proc, ancestors=ancestors, container=container)
            )
    return events


def test_dispatch_agrees_with_each_rule_predicate(corpus: Path) -> None:
    ruleset = load_rules(_falco(corpus))
    seen = 0
    for event in _varied_events():
        expected = [r for r, predicate in ruleset.candidates(event.type) if predicate(event)]
        assert ruleset.matches(event) == expected
        seen += len(expected)
    assert seen > 0


def test_matching_first_stops_at_first_rule(corpus: Path) -> None:
    every = load_rules(_falco(corpus))
    first = load_rules(_falco(corpus), matching="first")
    for event in _varied_events():
        hits = [r.name for r in every.matches(event)]
        assert [r.name for r in first.matches(event)] == hits[:1]


@pytest.mark.parametrize(
    ("condition", "types"),
    [
        ("evt.type in (dup, dup2) and not evt.num = 0", {"dup", "dup2"}),
        ("evt.type = open or evt.type = openat", {"open", "openat"}),
        ("evt.type = open and evt.type = close", set()),
        ("evt.num = 0", set()),
        ("not (evt.type = open and proc.name = x)", None),
        ("evt.type != open", None),
        ("proc.name = x", None),
    ],
)
def test_event_types_of_a_condition(condition: str, types: set[str] | None) -> None:
    text = f"- rule: r\n  desc: d\n  condition: {condition}\n  output: o\n  priority: INFO\n"
    (rule,) = load_rules([], sources=[("r.yaml", text)]).rules
    assert rule.event_types == (None if types is None else frozenset(types))


def test_rule_on_a_type_outside_the_event_enum_fires() -> None:
    text = (
        "- rule: r\n  desc: d\n  condition: evt.type = dup2 and evt.rawres in (0, 1, 2)\n"
        "  output: o\n  priority: INFO\n"
    )
    ruleset = load_rules([], sources=[("r.yaml", text)])
    event = Event(type="dup2", ts=1, res=1, proc=Process(pid=1))
    assert [r.name for r in ruleset.matches(event)] == ["r"]
    assert ruleset.matches(Event(type="dup2", ts=1, res=5, proc=Process(pid=1))) == []


def test_reload_never_mixes_old_and_new_rules() -> None:
    import threading

    def rules(name: str) -> list[tuple[str, str]]:
        text = RULE.replace("Shell in container", name)
        return [(f"{name}.yaml", text)]

    detector = RulesDetector(load_rules([], sources=rules("old")))
    stop = threading.Event()

    def flip() -> None:
        names = ["new", "old"]
        while not stop.is_set():
            detector.reload([], sources=rules(names[0]))
            names.reverse()

    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        seen = set()
        for _ in range(300):
            verdict = tuple(a.rule for a in detector.inspect(_exec("bash")))
            assert verdict in {("old",), ("new",)}
            seen.add(verdict)
    finally:
        stop.set()
        flipper.join()
    assert seen


def test_scalars_stay_text_like_yaml_cpp() -> None:
    text = """
- list: words
  items: [yes, 1.10, 0755, on]
- rule: r
  desc: d
  condition: evt.type = execve and proc.name in (words)
  output: o
  priority: INFO
  enabled: yes
"""
    ruleset = load_rules([], sources=[("r.yaml", text)])
    assert ruleset.errors == []
    for name in ("yes", "1.10", "0755", "on"):
        event = Event(type="execve", ts=1, proc=Process(pid=1, name=name))
        assert [r.name for r in ruleset.matches(event)] == ["r"], name
