"""Fleet correlations, pure part: their YAML (`scope: fleet`, errors at file:line:column),
the signals a batch gives, and the window where a spread reaches its hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.detect.correlation_load import load_correlations, read_correlations
from stockade.detect.fleet import (
    Fire,
    FleetCorrelation,
    FleetKind,
    GroupBy,
    SignalKind,
    fleet_alert,
    host_addresses,
    signals_of,
    spread_window,
)
from stockade.model import Alert, Event, Priority
from stockade.model.events import FdInfo, Process
from stockade.model.wire import Batch
from stockade.rules.default import default_rule_paths

SPREAD = """\
- correlation: Worm
  scope: fleet
  kind: spread
  alerts: {min_priority: ERROR, tags: [T1059]}
  group_by: rule
  hosts: 3
  window: 1m
  priority: CRITICAL
  output: "%fleet.group on %fleet.hosts hosts"
"""
LATERAL = """\
- correlation: Hop
  scope: fleet
  kind: lateral
  connection: evt.type = connect and fd.sip exists
  window: 30s
  priority: CRITICAL
  output: "%fleet.source_host to %fleet.target_host"
"""

# name -> (file text, expected code, line, column)
BAD = {
    "unknown scope": (
        SPREAD.replace("scope: fleet", "scope: galaxy"),
        "LOAD_ERR_YAML_VALIDATE",
        2,
        10,
    ),
    "unknown kind": (SPREAD.replace("kind: spread", "kind: flood"), "LOAD_ERR_YAML_VALIDATE", 3, 9),
    "unknown key": (SPREAD + "  threshold: 3\n", "LOAD_ERR_YAML_VALIDATE", 10, 14),
    "one host": (SPREAD.replace("hosts: 3", "hosts: 1"), "LOAD_ERR_YAML_VALIDATE", 6, 10),
    "bad group": (SPREAD.replace("by: rule", "by: pod"), "LOAD_ERR_YAML_VALIDATE", 5, 13),
    "spread without hosts": (SPREAD.replace("  hosts: 3\n", ""), "LOAD_ERR_YAML_VALIDATE", 1, 3),
    "bad alert priority": (SPREAD.replace("ERROR", "LOUD"), "LOAD_ERR_YAML_VALIDATE", 4, 11),
    "field of the other kind": (
        SPREAD.replace("%fleet.hosts", "%fleet.target_host"),
        "LOAD_ERR_COMPILE_OUTPUT",
        9,
        11,
    ),
    "lateral key in a spread": (
        SPREAD + "  connection: evt.type = connect\n",
        "LOAD_ERR_YAML_VALIDATE",
        10,
        15,
    ),
    "connection syntax": (
        LATERAL.replace("evt.type = connect", "evt.type = = connect"),
        "LOAD_ERR_COMPILE_CONDITION",
        4,
        15,
    ),
    "unknown destination field": (
        LATERAL + "  destination: fd.sipp\n",
        "LOAD_UNKNOWN_FIELD",
        8,
        16,
    ),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_malformed_fleet_item_names_code_and_place(name: str, tmp_path: Path) -> None:
    text, code, line, column = BAD[name]
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    loaded = load_correlations([path])
    assert loaded.fleet == [] and loaded.correlations == []
    assert [(m.code, m.line, m.column) for m in loaded.errors] == [(code, line, column)], [
        str(m) for m in loaded.errors
    ]


def test_fleet_items_load_beside_the_agents_and_agents_skip_them(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    agents = "- correlation: Many\n  condition: evt.type = connect\n  group_by: [container.id]\n"
    agents += "  threshold: 2\n  window: 1s\n  priority: NOTICE\n  output: x\n"
    path.write_text(SPREAD + LATERAL + agents)
    loaded = load_correlations([path])
    assert loaded.errors == []
    assert [c.name for c in loaded.correlations] == ["Many"]
    assert [(c.name, c.kind) for c in loaded.fleet] == [
        ("Worm", FleetKind.SPREAD),
        ("Hop", FleetKind.LATERAL),
    ]
    worm = loaded.fleet[0]
    assert (worm.hosts, worm.window_ns, worm.alerts.min_priority) == (3, 60 * 10**9, Priority.ERROR)


def test_the_shipped_fleet_correlations_load() -> None:
    beside = [p.parent / "correlations" for p in default_rule_paths()]
    loaded = load_correlations(beside)
    assert loaded.errors == []
    assert {c.kind for c in loaded.fleet} == {FleetKind.SPREAD, FleetKind.LATERAL}


def _spec(kind: FleetKind) -> FleetCorrelation:
    text = SPREAD if kind is FleetKind.SPREAD else LATERAL
    (spec,) = read_correlations(text, "t.yaml").fleet
    return spec


def _alert(seq: int, host: str, rule: str = "Shell", priority: str = "Error") -> Alert:
    return Alert(
        uuid="u",
        output="o",
        priority=priority,
        rule=rule,
        time=str(seq * 10**9),
        output_fields={},
        tags=["T1059"],
        host_id=host,
        seq=seq,
    )


def _socket_event(seq: int, host: str, type_: str, server: str) -> Event:
    fd = FdInfo(type="ipv4", l4proto="tcp", sip="10.0.0.1", sport=40000, dip=server, dport=22)
    proc = Process(pid=7, name="ssh")
    return Event(type=type_, ts=seq * 10**9, proc=proc, fd=fd, host_id=host, seq=seq)


def test_signals_of_a_batch() -> None:
    spread, lateral = _spec(FleetKind.SPREAD), _spec(FleetKind.LATERAL)
    events = [
        _socket_event(1, "h1", "connect", "10.0.0.9"),
        _socket_event(2, "h1", "connect", "127.0.0.1"),  # loopback: no other host
        _socket_event(3, "h1", "openat", "10.0.0.9"),  # not a connection
    ]
    alerts = [_alert(4, "h1"), _alert(5, "h1", priority="Notice")]  # the second too mild
    batch = Batch(agent_id="a1", first_seq=1, last_seq=5, events=events, alerts=alerts)
    found = signals_of([spread, lateral], batch, lambda a: int(a.time))
    assert [(s.correlation, s.kind, s.key, s.host_id, s.seq) for s in found] == [
        ("Worm", SignalKind.ALERT, "Shell", "h1", 4),
        ("Hop", SignalKind.ALERT, "h1", "h1", 4),
        ("Hop", SignalKind.CONNECT, "10.0.0.9", "h1", 1),
    ]


def test_host_addresses_come_from_accepted_sockets() -> None:
    events = [
        _socket_event(1, "h2", "accept4", "10.0.0.9"),
        _socket_event(2, "h2", "connect", "10.0.0.7"),  # a peer's address, not its own
    ]
    batch = Batch(agent_id="a2", first_seq=1, last_seq=2, events=events)
    found = host_addresses(batch, lambda e: e.fd.dip if e.fd else None)
    assert found == [("10.0.0.9", "h2", 10**9)]


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        ([("a", 0), ("b", 5), ("c", 9)], (0, 9, ["a", "b", "c"])),
        ([("a", 0), ("b", 5), ("b", 6), ("c", 11)], None),
        ([("a", 0), ("a", 1), ("a", 2), ("b", 3)], None),
        ([("a", 0), ("b", 20), ("c", 25), ("d", 29)], (20, 29, ["b", "c", "d"])),
    ],
    ids=["within", "too-slow", "one-host-repeating", "later-wave"],
)
def test_spread_window(
    signals: list[tuple[str, int]], expected: tuple[int, int, list[str]] | None
) -> None:
    assert spread_window(signals, 3, 10) == expected


def test_the_alert_of_a_fire_fills_its_fields() -> None:
    spec = _spec(FleetKind.SPREAD)
    fire = Fire("Worm", "Shell", 0, 2 * 10**9, "h3", {"fleet.group": "Shell", "fleet.hosts": 3})
    alert = fleet_alert(spec, fire, 7)
    assert alert.output.endswith("Critical Shell on 3 hosts")
    assert (alert.rule, alert.seq, alert.host_id, alert.source) == ("Worm", 7, "h3", "fleet")
    assert alert.output_fields["fleet.window_s"] == 60.0
    assert GroupBy.RULE is spec.group_by
