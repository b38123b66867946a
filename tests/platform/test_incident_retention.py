"""Retention and incidents, SQLite and PostgreSQL alike: once all its alerts are gone an
incident goes with its notes when it is closed, or open but untouched and past the alerts'
age; an open incident someone worked on stays, and its timeline says why its alerts are
gone (once, however many retention passes run at once), until a user closes it."""

from __future__ import annotations

import asyncio
import functools
import time

import msgspec
import pytest

from stockade.model.alerts import Alert
from stockade.model.entities import Container
from stockade.model.events import Event
from stockade.model.incidents import IncidentStatus
from stockade.model.wire import Batch
from stockade.platform.backends import open_incident_retention, open_incident_store
from stockade.platform.messages import IngestBatch
from stockade.platform.services.incident_retention import incident_goes
from stockade.platform.services.incidents import IncidentService
from stockade.platform.services.metrics import PlatformMetrics
from stockade.platform.services.retention import RetentionPolicy, RetentionService
from stockade.platform.store import AgentRecord, Store
from stockade.platform.store.incident_retention import OrphanIncident
from stockade.platform.store.incidents import IncidentChange, IncidentQuery, IncidentStore
from stockade.platform.store.runner import StoreRunner
from tests.support.agent_client import make_alert, make_event
from tests.support.stores import StoreOpener
from tests.support.together import run_together

MIN = 60 * 10**9
DAY = 24 * 60 * MIN
NOW = time.time_ns()
AGE_DAYS = 90
CUTOFF = NOW - AGE_DAYS * DAY
OLD = NOW - 100 * DAY
NEW, OPEN, SHUT = IncidentStatus.NEW, IncidentStatus.INVESTIGATING, IncidentStatus.RESOLVED


@pytest.mark.parametrize(
    ("orphan", "stale_before", "goes"),
    [
        (OrphanIncident(1, SHUT, OLD, worked_on=True, noted=False), CUTOFF, True),
        (OrphanIncident(1, IncidentStatus.FALSE_POSITIVE, NOW, True, False), None, True),
        (OrphanIncident(1, OPEN, OLD, worked_on=True, noted=True), CUTOFF, False),
        (OrphanIncident(1, NEW, OLD, worked_on=True, noted=False), CUTOFF, False),
        (OrphanIncident(1, NEW, OLD, worked_on=False, noted=False), CUTOFF, True),
        (OrphanIncident(1, NEW, NOW, worked_on=False, noted=False), CUTOFF, False),
        (OrphanIncident(1, NEW, OLD, worked_on=False, noted=False), None, False),
    ],
    ids=[
        "resolved",
        "false-positive-whatever-its-age",
        "investigating",
        "new-but-assigned-or-noted",
        "untouched-past-the-age",
        "untouched-young-its-alerts-gone-by-the-size-cap",
        "untouched-alerts-kept-forever",
    ],
)
def test_which_incidents_go_with_their_last_alert(
    orphan: OrphanIncident, stale_before: int | None, goes: bool
) -> None:
    assert incident_goes(orphan, stale_before) is goes


# each container's alerts: (minutes before the cutoff, ...) -> one incident per container
CASES = {
    "resolved": (24 * 60,),
    "false-positive": (24 * 60, 24 * 60 - 1),
    "investigating": (24 * 60,),
    "noted": (23 * 60,),
    "untouched": (22 * 60,),
    "half-gone": (10, -10),  # one alert before the cutoff, one after: the incident stays
    "recent": (-60,),
}
WORK = {
    "resolved": IncidentChange("ana", status=SHUT),
    "false-positive": IncidentChange("ana", status=IncidentStatus.FALSE_POSITIVE),
    "investigating": IncidentChange("ana", status=OPEN, assignee="ana"),
    "noted": IncidentChange("ana", note="seen before: a cron job?"),
}


def _incidents_by_case(store: Store, incidents: IncidentStore) -> dict[str, int]:
    """Store and group each case's alerts (a container of its own); the incident ids."""
    store.add_agent(
        AgentRecord(id="a1", hostname="h", host_id="host-1", cert_fingerprint="f", enrolled_at=1)
    )
    events: list[Event] = []
    alerts: list[Alert] = []
    for n, (name, minutes) in enumerate(CASES.items()):
        container = Container(id=f"{n:02d}" * 32, name=name, image="i:1", runtime="podman")
        for m in minutes:
            events.append(make_event(2 * len(events) + 1, CUTOFF - m * MIN, container=container))
            alerts.append(make_alert(events[-1].seq + 1, events[-1], rule=name))
    batch = Batch(agent_id="a1", first_seq=1, last_seq=2 * len(events), events=events)
    batch.alerts = alerts
    blobs = [msgspec.msgpack.encode(e) for e in events]
    store.store_batch(IngestBatch(batch=batch, event_blobs=blobs), NOW)
    runner = StoreRunner()
    try:
        IncidentService(store, incidents, runner).group_batch(batch)
    finally:
        runner.close()
    ids = {i.title: i.id for i in incidents.list_incidents(IncidentQuery(limit=100))}
    for name, change in WORK.items():
        incidents.change_incident(ids[name], change, OLD)
    return ids


def _enforce(store: Store, runner: StoreRunner, now: int) -> int:
    """One retention pass (alerts kept AGE_DAYS); the incidents it removed."""
    policy = RetentionPolicy(events_max_age_s=0, alerts_max_age_s=AGE_DAYS * 86_400)
    metrics = PlatformMetrics()
    service = RetentionService(store, runner, policy, metrics, open_incident_retention(store))
    return asyncio.run(service.enforce(now)).incidents


def test_retention_removes_incidents_by_the_rule(open_store: StoreOpener) -> None:
    store = open_store()
    incidents = open_incident_store(store)
    ids = _incidents_by_case(store, incidents)
    removed: list[int] = []
    runners = [StoreRunner(), StoreRunner()]
    try:  # two platform processes' retention at once
        run_together(
            functools.partial(lambda r: removed.append(_enforce(open_store(), r, NOW)), r)
            for r in runners
        )
        left = {i.title for i in incidents.list_incidents(IncidentQuery(limit=100))}
        assert sum(removed) == 3
        assert left == {"investigating", "noted", "half-gone", "recent"}
        for name in ("investigating", "noted"):
            notes = incidents.incident_notes(ids[name])
            assert [n.kind for n in notes].count("retention") == 1, name
        assert "retention" not in [n.kind for n in incidents.incident_notes(ids["half-gone"])]
        assert _enforce(store, runners[0], NOW) == 0  # nothing more: noted once already
        assert [n.kind for n in incidents.incident_notes(ids["noted"])].count("retention") == 1
        incidents.change_incident(ids["investigating"], IncidentChange("ana", status=SHUT), NOW)
        assert _enforce(store, runners[0], NOW) == 1  # closed: it goes, notes and all
    finally:
        for runner in runners:
            runner.close()
    assert incidents.get_incident(ids["investigating"]) is None
    assert incidents.incident_notes(ids["investigating"]) == []
    assert incidents.get_incident(ids["resolved"]) is None
