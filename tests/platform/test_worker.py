"""`stockade worker` needs a shared bus; on one it stores what API nodes published."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from stockade.model.wire import Batch
from stockade.platform import PlatformConfig
from stockade.platform.bus import BATCHES
from stockade.platform.bus.jetstream import open_nats_bus
from stockade.platform.errors import PlatformConfigError
from stockade.platform.messages import IngestBatch
from stockade.platform.store import AgentRecord
from stockade.platform.store.sqlite import SqliteStore
from stockade.platform.worker import Worker
from tests.support.agent_client import make_event
from tests.support.nats import NatsServer
from tests.support.polling import poll_until_async


def test_a_worker_on_the_in_process_bus_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(PlatformConfigError, match="a worker takes batches from a shared bus"):
        Worker.open(PlatformConfig(data_dir=tmp_path))


@pytest.mark.server
def test_a_worker_stores_what_was_published(nats_server: NatsServer, tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    store = SqliteStore(str(db))
    store.add_agent(
        AgentRecord(id="a1", hostname="h", host_id="host-1", cert_fingerprint="f", enrolled_at=1)
    )
    config = PlatformConfig(
        data_dir=tmp_path / "data", store_location=str(db), bus="nats", bus_location=nats_server.url
    )
    events = [make_event(seq, seq * 1000) for seq in range(1, 701)]
    blobs = [msgspec.msgpack.encode(e) for e in events]
    batch = IngestBatch(
        batch=Batch(agent_id="a1", first_seq=1, last_seq=700, events=events), event_blobs=blobs
    )

    async def run() -> None:
        publisher = open_nats_bus(nats_server.url)
        await publisher.publish(BATCHES, batch)
        await publisher.close()
        worker = Worker.open(config)
        task = asyncio.create_task(worker.run())
        try:
            await poll_until_async(
                lambda: store.acked_seq("a1") >= 700 or task.done(), 30, "the batch stored"
            )
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            worker.close()

    asyncio.run(run())
    assert store.acked_seq("a1") == 700
    store.close()
