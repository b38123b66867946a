"""Grouping alerts into incidents in the store, SQLite and PostgreSQL alike: workers in
several processes grouping alerts of one container at once make one incident, and a batch
grouped again adds nothing."""

from __future__ import annotations

import functools

import msgspec

from stockade.model.entities import Container
from stockade.model.wire import Batch
from stockade.platform.backends import open_incident_store
from stockade.platform.messages import IngestBatch
from stockade.platform.services.incidents import IncidentService
from stockade.platform.store import AgentRecord
from stockade.platform.store.incidents import IncidentQuery
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
