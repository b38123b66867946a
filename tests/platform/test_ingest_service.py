"""The ingest service over a real SQLite store: a store that fails answers 503, not 500."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from stockade.model.wire import BATCH_CONTENT_TYPE, Batch
from stockade.platform.bus.inprocess import InProcessBus
from stockade.platform.services import PlatformMetrics
from stockade.platform.services.agents import AgentIdentity
from stockade.platform.services.ingest import IngestError, IngestService, StoreWorker
from stockade.platform.store import AgentRecord
from stockade.platform.store.runner import StoreRunner
from stockade.platform.store.sqlite import SqliteStore
from tests.support.agent_client import encode_batch, make_event


def _service(tmp_path: Path) -> tuple[IngestService, SqliteStore, StoreRunner, PlatformMetrics]:
    store = SqliteStore(str(tmp_path / "db.sqlite"))
    store.add_agent(
        AgentRecord(id="a1", hostname="h", host_id="h", cert_fingerprint="f", enrolled_at=1)
    )
    runner, metrics, bus = StoreRunner(), PlatformMetrics(), InProcessBus()
    StoreWorker(store, runner, metrics).attach(bus)
    return IngestService(store, runner, bus, metrics), store, runner, metrics


AGENT = AgentIdentity(agent_id="a1", host_id="host-1", hostname="h")
BODY = encode_batch(Batch(agent_id="a1", first_seq=1, last_seq=1, events=[make_event(1, 1)]))


def test_stored_batch_is_acked_and_counted(tmp_path: Path) -> None:
    service, store, runner, metrics = _service(tmp_path)
    ack = asyncio.run(service.ingest(AGENT, BODY, BATCH_CONTENT_TYPE, "zstd"))
    assert ack.acked_seq == 1
    text = metrics.render(store.list_agents()).decode()
    assert 'stockade_ingest_batches_total{result="200"} 1.0' in text
    assert "stockade_ingest_events_stored_total 1.0" in text
    runner.close()
    store.close()


def test_unavailable_store_is_503(tmp_path: Path) -> None:
    service, store, runner, metrics = _service(tmp_path)
    store.close()
    with pytest.raises(IngestError) as caught:
        asyncio.run(service.ingest(AGENT, BODY, BATCH_CONTENT_TYPE, "zstd"))
    assert caught.value.status == 503
    assert "retry later" in caught.value.reason
    runner.close()
