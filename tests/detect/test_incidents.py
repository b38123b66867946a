"""Grouping alerts into incidents: by container, by process ancestry on a host, in a window."""

from __future__ import annotations

import pytest

from stockade.detect.incidents import (
    AlertFacts,
    IncidentDraft,
    group_alerts,
    lineage_of,
    process_key,
)
from stockade.model.alerts import Alert, Priority
from stockade.model.events import Ancestor, Event, Process

MIN = 60 * 1_000_000_000
WINDOW = 30 * MIN
WEB, DB = "a1" * 32, "b2" * 32


def facts(
    seq: int,
    minute: int,
    container: str = WEB,
    priority: Priority = Priority.WARNING,
    lineage: tuple[str, ...] = (),
    host: str = "host-1",
) -> AlertFacts:
    return AlertFacts(
        seq=seq,
        ts=minute * MIN,
        host_id=host,
        container_id=container,
        priority=int(priority),
        rule=f"rule {seq}",
        lineage=frozenset(lineage),
    )


def test_alerts_of_one_container_within_the_window_are_one_incident() -> None:
    alerts = [facts(1, 0), facts(2, 20, priority=Priority.CRITICAL), facts(3, 45)]
    [incident] = group_alerts(alerts, [], WINDOW)
    assert incident.alert_seqs == [1, 2, 3]  # each within 30 min of the last one
    assert incident.severity == Priority.CRITICAL
    assert incident.title == "rule 1"
    assert (incident.first_ts, incident.last_ts) == (0, 45 * MIN)


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        (facts(2, 5, container=DB), [[1], [2]]),
        (facts(2, 5, host="host-2"), [[1], [2]]),
        (facts(2, 31), [[1], [2]]),
        (facts(2, 29), [[1, 2]]),
    ],
    ids=["other-container", "same-id-other-host", "past-the-window", "within-the-window"],
)
def test_what_splits_incidents(second: AlertFacts, expected: list[list[int]]) -> None:
    found = group_alerts([facts(1, 0), second], [], WINDOW)
    assert [d.alert_seqs for d in found] == expected


def test_an_alert_joins_a_stored_open_incident() -> None:
    stored = IncidentDraft(
        id=7, host_id="host-1", container_id=WEB, first_ts=0, last_ts=10 * MIN,
        severity=int(Priority.ERROR), title="first",
    )  # fmt: skip
    [incident] = group_alerts([facts(4, 12, priority=Priority.NOTICE)], [stored], WINDOW)
    assert incident.id == 7
    assert incident.alert_seqs == [4]
    assert incident.severity == Priority.ERROR  # the most severe stays


def test_host_alerts_group_by_shared_ancestry_only() -> None:
    shell = process_key(500, 11)
    a = facts(1, 0, container="host", lineage=(process_key(600, 12), shell))
    b = facts(2, 1, container="host", lineage=(process_key(601, 13), shell))  # a sibling
    c = facts(3, 2, container="host", lineage=(process_key(900, 14), process_key(800, 15)))
    found = group_alerts([a, b, c], [], WINDOW)
    assert [d.alert_seqs for d in found] == [[1, 2], [3]]
    assert found[0].lineage == {process_key(600, 12), process_key(601, 13), shell}


def test_alerts_are_taken_in_time_order() -> None:
    found = group_alerts([facts(2, 40), facts(1, 0), facts(3, 20)], [], WINDOW)
    assert [d.alert_seqs for d in found] == [[1, 3, 2]]


def test_lineage_is_the_process_and_its_two_nearest_ancestors_but_never_init() -> None:
    event = Event(
        type="execve",
        ts=1,
        proc=Process(pid=40, start_ns=4),
        ancestors=(
            Ancestor(pid=30, start_ns=3),
            Ancestor(pid=1, start_ns=1),
            Ancestor(pid=20, start_ns=2),
        ),
    )
    alert = Alert(uuid="u", output="", priority="Warning", rule="r", time="", output_fields={})
    assert lineage_of(event, alert) == {"40:4", "30:3"}
    alert.output_fields["proc.pid"] = 40
    assert lineage_of(None, alert) == {"40:0"}


def stored_host_incident(ident: int, minute: int, lineage: str, title: str) -> IncidentDraft:
    return IncidentDraft(
        id=ident, host_id="host-1", container_id="host", first_ts=minute * MIN,
        last_ts=minute * MIN, severity=int(Priority.NOTICE), title=title, lineage={lineage},
    )  # fmt: skip


def test_an_alert_tying_two_stored_host_incidents_merges_them_into_the_older() -> None:
    shell, miner = process_key(500, 11), process_key(700, 17)
    older = stored_host_incident(3, 5, shell, "shell")
    newer = stored_host_incident(9, 2, miner, "miner")  # began earlier, stored later
    both = facts(4, 8, container="host", lineage=(shell, miner), priority=Priority.CRITICAL)
    [merged] = group_alerts([both], [newer, older], WINDOW)
    assert (merged.id, merged.merged_ids, merged.alert_seqs) == (3, [9], [4])
    assert (merged.first_ts, merged.last_ts) == (2 * MIN, 8 * MIN)
    assert merged.lineage == {shell, miner}
    assert merged.severity == Priority.CRITICAL
    assert merged.title == "miner"  # the rule of the first alert of both


def test_new_incidents_tied_by_a_later_alert_become_one() -> None:
    a = facts(1, 0, container="host", lineage=(process_key(600, 12),))
    b = facts(2, 1, container="host", lineage=(process_key(601, 13),))
    c = facts(3, 2, container="host", lineage=(process_key(600, 12), process_key(601, 13)))
    [merged] = group_alerts([a, b, c], [], WINDOW)
    assert (merged.id, merged.merged_ids, merged.alert_seqs) == (0, [], [1, 2, 3])


def test_a_late_alert_between_two_incidents_of_a_container_merges_them() -> None:
    first = IncidentDraft(
        id=5, host_id="host-1", container_id=WEB, first_ts=0, last_ts=0,
        severity=int(Priority.WARNING), title="first",
    )  # fmt: skip
    second = IncidentDraft(
        id=6, host_id="host-1", container_id=WEB, first_ts=50 * MIN, last_ts=50 * MIN,
        severity=int(Priority.WARNING), title="second",
    )  # fmt: skip
    [merged] = group_alerts([facts(7, 25)], [first, second], WINDOW)  # within 30 min of each
    assert (merged.id, merged.merged_ids, merged.alert_seqs) == (5, [6], [7])
    assert (merged.first_ts, merged.last_ts, merged.title) == (0, 50 * MIN, "first")
