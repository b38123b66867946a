"""The incident backfill, SQLite and PostgreSQL alike: alerts stored but left out of
incidents (stored before grouping existed, or a crash between storing and grouping) are
grouped in bounded batches, oldest first, once each, by any number of workers at once."""

from __future__ import annotations

import asyncio
import functools

import msgspec

from stockade.model.entities import Container
from stockade.model.wire import Batch
from stockade.platform.backends import open_incident_store
from stockade.platform.messages import IngestBatch
from stockade.platform.services.incidents import IncidentService
from stockade.platform.store import AgentRecord, AlertQuery, Store
from stockade.platform.store.incidents import IncidentQuery
from stockade.platform.store.runner import StoreRunner
from tests.support.agent_client import make_alert, make_event
from tests.support.stores import StoreOpener
from tests.support.together import run_together

SHOP = Container(id="5c" * 32, name="shop", image="localhost/shop:1", runtime="podman")
TS = 1_800_000_000 * 10**9
S = 10**9


def _store_ungrouped(store: Store, batches: int, pairs: int) -> list[Batch]:
    """Store `batches` batches of `pairs` shop events with an alert each, grouping none."""
    store.add_agent(
        AgentRecord(id="a1", hostname="h", host_id="host-1", cert_fingerprint="f", enrolled_at=1)
    )
    stored = []
    for n in range(batches):
        first = 1 + 2 * pairs * n
        events = [
            make_event(first + 2 * i, TS + (n * pairs + i) * S, container=SHOP)
            for i in range(pairs)
        ]
        alerts = [make_alert(e.seq + 1, e) for e in events]
        last = first + 2 * pairs - 1
        batch = Batch(agent_id="a1", first_seq=first, last_seq=last, events=events, alerts=alerts)
        blobs = [msgspec.msgpack.encode(e) for e in events]
        store.store_batch(IngestBatch(batch=batch, event_blobs=blobs), TS)
        stored.append(batch)
    return stored


def _incident_of_each_alert(store: Store) -> list[int | None]:
    return [a.incident_id for a in store.query_alerts(AlertQuery(limit=100))]


def test_backfill_groups_the_oldest_in_bounded_batches_once(open_store: StoreOpener) -> None:
    store = open_store()
    [batch] = _store_ungrouped(store, 1, 5)
    incidents = open_incident_store(store)
    runner = StoreRunner()
    service = IncidentService(store, incidents, runner)
    try:
        assert asyncio.run(service.backfill(limit=2)) == 2
        [incident] = incidents.list_incidents(IncidentQuery())
        assert incident.alert_count == 2
        assert incident.first_ts == TS  # the oldest alerts first
        assert [asyncio.run(service.backfill(limit=2)) for _ in range(3)] == [2, 1, 0]
        assert service.group_batch(batch) == []  # the live grouping finds nothing left
    finally:
        runner.close()
    [incident] = incidents.list_incidents(IncidentQuery())
    assert (incident.alert_count, incident.last_ts) == (5, TS + 4 * S)
    assert _incident_of_each_alert(store) == [incident.id] * 5


def test_backfills_in_several_processes_group_each_alert_once(open_store: StoreOpener) -> None:
    store = open_store()
    _store_ungrouped(store, 3, 4)
    services, runners = [], []
    for _ in range(3):  # one per worker process, each on its own store
        worker_store = open_store()
        runners.append(StoreRunner())
        incidents = open_incident_store(worker_store)
        services.append(IncidentService(worker_store, incidents, runners[-1]))
    grouped: list[int] = []
    try:
        for _ in range(4):  # 12 alerts, 5 a batch: three rounds suffice, the fourth finds none
            run_together(
                functools.partial(lambda s: grouped.append(asyncio.run(s.backfill(5))), s)
                for s in services
            )
    finally:
        for runner in runners:
            runner.close()
    [incident] = open_incident_store(store).list_incidents(IncidentQuery())
    assert incident.alert_count == 12  # no alert counted twice
    assert _incident_of_each_alert(store) == [incident.id] * 12
    assert sum(grouped) == 12 and grouped[-3:] == [0, 0, 0]
