"""Correlation detectors on lists of events: counts, distinct counts, sequences, groups,
windows and suppression, with time taken from the events' own timestamps."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from stockade.detect import DETECTORS, DetectorConfig, build_detectors
from stockade.detect.correlation import CorrelationDetector
from stockade.detect.correlation_load import read_correlations
from stockade.detect.windows import CountWindow, GroupTable, SequenceProgress
from stockade.model import Container, Event, EventType, FdInfo, Process

S = 1_000_000_000
CID_A, CID_B = "a" * 64, "b" * 64
PORT_SCAN = """
- correlation: Scan
  condition: evt.type = connect and container.id != host
  group_by: [container.id, fd.sip]
  distinct: fd.sport
  threshold: 3
  window: 10s
  suppress: 30s
  priority: WARNING
  output: "%corr.count ports of %fd.sip"
  tags: [T1046]
"""
CONNECTS = """
- correlation: Connects
  condition: evt.type = connect
  group_by: [proc.name]
  threshold: 3
  window: 10s
  priority: NOTICE
  output: "%corr.count connects by %proc.name"
"""
SEQUENCE = """
- correlation: Recon then shell
  sequence:
    - evt.type = connect
    - evt.type = execve and proc.name = sh
  group_by: [container.id]
  window: 5s
  priority: CRITICAL
  output: "shell after connect in %container.id"
"""


def event(
    kind: str = "connect",
    ts_s: float = 0,
    *,
    cid: str = CID_A,
    dip: str = "10.0.0.1",
    dport: int = 80,
    name: str = "nc",
) -> Event:
    """A connect (or other) event of process `name` in container `cid` at `ts_s` seconds."""
    fd = FdInfo(type="ipv4", l4proto="tcp", sip="10.0.0.9", dip=dip, dport=dport)
    container = Container(id=cid, image_repository="localhost/app") if cid else Container.host()
    return Event(
        type=kind,
        ts=int(ts_s * S),
        proc=Process(pid=7, name=name, argv=(name,)),
        container=container,
        fd=fd if kind == "connect" else None,
    )


def detector(text: str) -> CorrelationDetector:
    """A detector over the correlations of `text` (which must load cleanly)."""
    loaded = read_correlations(text, "test.yaml")
    assert not loaded.errors, loaded.errors
    return CorrelationDetector(loaded.correlations)


def fired(text: str, events: list[Event]) -> list[int]:
    """The index of each event that raised an alert."""
    d = detector(text)
    return [i for i, e in enumerate(events) if d.inspect(e)]


@dataclass(frozen=True)
class Case:
    """A correlation, the events fed to it, and which of them must raise an alert."""

    text: str
    events: list[Event]
    alerts_at: list[int]


CASES = {
    "distinct ports reach the threshold": Case(
        PORT_SCAN, [event(dport=p, ts_s=p / 10) for p in (1, 2, 3)], [2]
    ),
    "the same port again is not a new port": Case(
        PORT_SCAN, [event(dport=p) for p in (1, 1, 1, 2)], []
    ),
    "ports spread past the window do not add up": Case(
        PORT_SCAN, [event(dport=1, ts_s=0), event(dport=2, ts_s=6), event(dport=3, ts_s=12)], []
    ),
    "each destination address is its own group": Case(
        PORT_SCAN, [event(dport=1), event(dport=2), event(dport=3, dip="10.0.0.2")], []
    ),
    "each container is its own group": Case(
        PORT_SCAN, [event(dport=1), event(dport=2), event(dport=3, cid=CID_B)], []
    ),
    "events the condition refuses do not count": Case(
        PORT_SCAN, [event(dport=1), event(dport=2), event(dport=3, cid="")], []
    ),
    "suppressed within the suppression window, then counted afresh": Case(
        PORT_SCAN,
        [event(dport=p, ts_s=t) for p, t in ((1, 0), (2, 0), (3, 0), (4, 1), (5, 2), (6, 3))]
        + [event(dport=p, ts_s=31) for p in (7, 8, 9)],
        [2, 8],
    ),
    "plain counts": Case(CONNECTS, [event(ts_s=t) for t in (0, 1, 2, 3)], [2]),
    "suppression defaults to the window": Case(
        CONNECTS, [event(ts_s=t) for t in (0, 0, 0, 5, 5, 10, 11, 12)], [2, 7]
    ),
    "a sequence in order": Case(
        SEQUENCE,
        [event(ts_s=0), event("execve", 1, name="bash"), event("execve", 2, name="sh")],
        [2],
    ),
    "a sequence out of order is no sequence": Case(
        SEQUENCE, [event("execve", 0, name="sh"), event(ts_s=1)], []
    ),
    "a sequence slower than its window is none": Case(
        SEQUENCE, [event(ts_s=0), event("execve", 6, name="sh")], []
    ),
    "a later first step restarts the window": Case(
        SEQUENCE, [event(ts_s=0), event(ts_s=4), event("execve", 8, name="sh")], [2]
    ),
    "a sequence is per group": Case(
        SEQUENCE, [event(ts_s=0, cid=CID_B), event("execve", 1, name="sh")], []
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_correlation(name: str) -> None:
    case = CASES[name]
    assert fired(case.text, case.events) == case.alerts_at


def test_the_alert_names_the_group_count_and_container() -> None:
    d = detector(PORT_SCAN)
    alerts = [a for p in (1, 2, 3) for a in d.inspect(event(dport=p))]
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.rule, alert.priority, alert.tags) == ("Scan", "Warning", ["T1046"])
    assert alert.container_id == CID_A
    assert "3 ports of 10.0.0.1" in alert.output
    assert alert.output_fields["corr.count"] == 3
    assert alert.output_fields["fd.sip"] == "10.0.0.1"
    assert alert.output_fields["container.id"] == CID_A[:12]
    assert alert.output_fields["container.image.repository"] == "localhost/app"


def test_the_event_types_of_every_step() -> None:
    assert detector(SEQUENCE).event_types() == frozenset({EventType.CONNECT, EventType.EXECVE})
    anything = PORT_SCAN.replace("evt.type = connect and ", "")
    assert detector(anything).event_types() is None


def test_built_from_the_registry_with_the_default_correlations() -> None:
    assert "correlation" in DETECTORS
    (built,) = build_detectors(["correlation"], DetectorConfig())
    assert isinstance(built, CorrelationDetector)
    names = {c.name for c in built.correlations}
    assert {"Port scan from container", "SSH brute force against container"} <= names
    assert built.event_types() == frozenset(
        {EventType.CONNECT, EventType.ACCEPT, EventType.ACCEPT4}
    )


def test_count_window_forgets_and_counts_distinct_values() -> None:
    window = CountWindow(10)
    for ts, value in ((0, "a"), (5, "a"), (8, "b"), (16, "c")):
        window.add(ts, value)
    assert (window.count(), window.distinct()) == (2, 2)  # at 16, what came before 6 left
    window.expire(30)
    assert (window.count(), window.distinct()) == (0, 0)


def test_sequence_progress_keeps_the_latest_start() -> None:
    progress = SequenceProgress(3, window_ns=10)
    assert not progress.advance(0, [0])
    assert not progress.advance(1, [1])
    assert not progress.advance(9, [0])
    assert not progress.advance(12, [1])  # from the start at 9
    assert progress.advance(15, [2])


def test_group_table_is_bounded() -> None:
    table: GroupTable[list[int]] = GroupTable(list, limit=2)
    table.get("a").append(1)
    table.get("b")
    table.get("a")  # "b" is now the least recently seen
    table.get("c")
    assert len(table) == 2
    assert table.get("a") == [1]
