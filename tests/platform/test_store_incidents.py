"""Grouping alerts into incidents in the store, SQLite and PostgreSQL alike: workers in
several processes grouping alerts of one container at once make one incident, and a batch
grouped again adds nothing; an alert tying two open incidents merges them."""

from __future__ import annotations

import functools
import time

import msgspec

from stockade.model.alerts import Alert
from stockade.model.entities import Container
from stockade.model.events import Ancestor, Event
from stockade.model.incidents import IncidentStatus
from stockade.model.wire import Batch
from stockade.platform.backends import open_incident_store
from stockade.platform.messages import IngestBatch
from stockade.platform.services.incidents import IncidentService
from stockade.platform.store import AgentRecord, Store
from stockade.platform.store.incidents import IncidentChange, IncidentQuery
from stockade.platform.store.runner import StoreRunner
from tests.support.agent_client import make_alert, make_event
from tests.support.stores import StoreOpener
from tests.support.together import run_together

SHOP = Container(id="5a" * 32, name="shop", image="localhost/shop:1", runtime="podman")
TS = 1_800_000_000 * 10**9


def _batch(first: int, pairs: int) -> Batch:
    """`pairs` events of the shop container, each with an alert on it (seqs from `first`)."""
    events = [make_event(first + 2 * i, TS + i, container=SHOP) for i in range(pairs)]
    alerts = [make_alert(e.seq + 1, e) for e in events]
    last = first + 2 * pairs - 1
    return Batch(agent_id="a1", first_seq=first, last_seq=last, events=events, alerts=alerts)


def test_workers_grouping_one_container_at_once_make_one_incident(
    open_store: StoreOpener,
) -> None:
    store = open_store()
    store.add_agent(
        AgentRecord(id="a1", hostname="h", host_id="host-1", cert_fingerprint="f", enrolled_at=1)
    )
    batches = [_batch(1 + 6 * n, 3) for n in range(3)]
    for batch in batches:
        blobs = [msgspec.msgpack.encode(e) for e in batch.events]
        store.store_batch(IngestBatch(batch=batch, event_blobs=blobs), TS)
    runner = StoreRunner()
    workers = []
    for _ in batches:  # one incident service per worker process, each on its own store
        worker_store = open_store()
        workers.append(IncidentService(worker_store, open_incident_store(worker_store), runner))
    try:
        run_together(
            functools.partial(worker.group_batch, batch)
            for worker, batch in zip(workers, batches, strict=True)
        )
        assert workers[0].group_batch(batches[0]) == []  # grouped already: nothing added
    finally:
        runner.close()
    incidents = open_incident_store(store).list_incidents(IncidentQuery())
    assert [(i.container_id, i.alert_count) for i in incidents] == [(SHOP.id, 9)]


def _host_event(seq: int, ts: int, pid: int, parent: int = 0) -> Event:
    """An event of process `pid` on the host (its parent in the ancestry if given)."""
    event = make_event(seq, ts, pid=pid, host_id="host-1")
    event.proc.start_ns = pid * 10
    if parent:
        event.ancestors = (Ancestor(pid=parent, start_ns=parent * 10, name="sh"),)
    return event


def _store(store: Store, events: list[Event], alerts: list[Alert], first: int) -> Batch:
    last = max([e.seq for e in events] + [a.seq for a in alerts])
    batch = Batch(agent_id="a1", first_seq=first, last_seq=last, events=events, alerts=alerts)
    blobs = [msgspec.msgpack.encode(e) for e in events]
    store.store_batch(IngestBatch(batch=batch, event_blobs=blobs), TS)
    return batch


def test_an_alert_tying_two_host_incidents_merges_them_with_their_work(
    open_store: StoreOpener,
) -> None:
    store = open_store()
    store.add_agent(
        AgentRecord(id="a1", hostname="h", host_id="host-1", cert_fingerprint="f", enrolled_at=1)
    )
    incidents = open_incident_store(store)
    runner = StoreRunner()
    service = IncidentService(store, incidents, runner)
    try:
        shell, miner = _host_event(1, TS, pid=600), _host_event(2, TS + 1, pid=700)
        first = [make_alert(3, shell, rule="Shell"), make_alert(4, miner, rule="Miner")]
        older, newer = service.group_batch(_store(store, [shell, miner], first, 1))
        change = IncidentChange(
            username="ana", status=IncidentStatus.INVESTIGATING, assignee="ana", note="mining?"
        )
        incidents.change_incident(newer, change, time.time_ns())
        # the miner's next event shows its parent: the shell of the other incident
        tie = _host_event(5, TS + 10, pid=700, parent=600)
        batch = _store(store, [tie], [make_alert(6, tie, rule="Miner")], 5)
        assert service.group_batch(batch) == [older]
    finally:
        runner.close()
    [merged] = incidents.list_incidents(IncidentQuery())
    assert (merged.id, merged.alert_count, merged.title) == (older, 3, "Shell")
    assert (merged.status, merged.assignee) == (IncidentStatus.INVESTIGATING, "ana")
    assert set(merged.lineage) == {"600:6000", "700:7000"}
    assert incidents.get_incident(newer) is None
    seqs = [a.alert.seq for a in incidents.incident_alerts(older, 10)]
    assert sorted(seqs) == [3, 4, 6]
    notes = incidents.incident_notes(older)
    assert [(n.kind, n.username) for n in notes] == [
        ("status", "ana"), ("assignee", "ana"), ("note", "ana"), ("merge", "")
    ]  # fmt: skip
    assert notes[-1].text.startswith(f"incident {newer} (Miner, 1 alerts) merged in")
