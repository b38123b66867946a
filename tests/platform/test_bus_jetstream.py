"""The NATS JetStream bus against a real nats-server: durable, shared, redelivered, once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import msgspec
import pytest

from stockade.model.wire import BATCH_CONTENT_TYPE, Batch
from stockade.platform.bus import BATCHES, BUSES, BusError
from stockade.platform.bus.jetstream import NatsBus, open_nats_bus
from stockade.platform.messages import CheckedBody, IngestBatch
from stockade.platform.services import PlatformMetrics
from stockade.platform.services.agents import AgentIdentity
from stockade.platform.services.ingest import IngestError, IngestService
from stockade.platform.store import AgentRecord
from stockade.platform.store.base import SequenceGapError, StoreError
from stockade.platform.store.runner import StoreRunner
from stockade.platform.store.sqlite import SqliteStore
from tests.support.agent_client import encode_batch, make_event
from tests.support.nats import NatsServer

pytestmark = pytest.mark.server
TIMEOUT_S = 30


def _batch(first: int, last: int, agent: str = "a1") -> IngestBatch:
    events = [make_event(seq, seq * 1000) for seq in range(first, last + 1)]
    batch = Batch(agent_id=agent, first_seq=first, last_seq=last, events=events)
    return IngestBatch(batch=batch, event_blobs=[msgspec.msgpack.encode(e) for e in events])


def _body(first: int, last: int, agent: str) -> CheckedBody:
    """The batch as the agent's request body, which travels as one message."""
    batch = _batch(first, last, agent).batch
    return CheckedBody(agent, first, last, encode_batch(batch))


class FakeStore:
    """What a store does with a batch: refuse a gap, keep each (agent, seq) once."""

    def __init__(self, target: int, fail_first: int = 0) -> None:
        self.acked: dict[str, int] = {}
        self.stored: dict[tuple[str, int], int] = {}
        self.target = target
        self.fail_first = fail_first
        self.done = asyncio.Event()

    async def handle(self, ingest: IngestBatch) -> None:
        batch = ingest.batch
        if self.fail_first:
            self.fail_first -= 1
            raise StoreError("the store is down")
        acked = self.acked.get(batch.agent_id, 0)
        if batch.first_seq > acked + 1:
            raise SequenceGapError(batch.first_seq, acked)
        for event in batch.events:
            if event.seq > acked:
                key = (batch.agent_id, event.seq)
                self.stored[key] = self.stored.get(key, 0) + 1
        self.acked[batch.agent_id] = max(acked, batch.last_seq)
        if sum(self.acked.values()) >= self.target:
            self.done.set()


async def _consume(store: FakeStore, url: str, workers: int = 2) -> None:
    buses = [open_nats_bus(url) for _ in range(workers)]
    for bus in buses:
        bus.subscribe(BATCHES, store.handle)
    tasks = [asyncio.create_task(bus.consume()) for bus in buses]
    try:
        await asyncio.wait_for(store.done.wait(), TIMEOUT_S)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for bus in buses:
            await bus.close()


def test_two_workers_store_every_record_once_in_order(nats_server: NatsServer) -> None:
    async def run() -> FakeStore:
        publisher = open_nats_bus(nats_server.url)
        for agent in ("a1", "a2"):
            for first in range(1, 3000, 600):  # a1's as agents' bodies, a2's as two runs each
                last = first + 599
                batch = _body(first, last, agent) if agent == "a1" else _batch(first, last, agent)
                await publisher.publish(BATCHES, batch)
        assert await publisher.held_seq("a1", 3000) == 3000
        await publisher.close()
        store = FakeStore(target=6000)
        await _consume(store, nats_server.url)
        return store

    store = asyncio.run(run())
    assert store.acked == {"a1": 3000, "a2": 3000}
    assert len(store.stored) == 6000
    assert set(store.stored.values()) == {1}


def test_a_failed_store_is_retried_and_a_resent_batch_stores_nothing_twice(
    nats_server: NatsServer,
) -> None:
    async def run() -> FakeStore:
        publisher = open_nats_bus(nats_server.url)
        await publisher.publish(BATCHES, _batch(1, 100))
        await publisher.publish(BATCHES, _batch(1, 150))  # an agent's retry, longer
        await publisher.close()
        store = FakeStore(target=150, fail_first=1)
        await _consume(store, nats_server.url, workers=1)
        return store

    store = asyncio.run(run())
    assert store.acked == {"a1": 150}
    assert set(store.stored.values()) == {1}


def test_what_nats_holds_survives_its_restart_and_is_known_to_other_nodes(
    nats_server: NatsServer,
) -> None:
    async def publish() -> None:
        publisher = open_nats_bus(nats_server.url)
        await publisher.publish(BATCHES, _batch(1, 700))
        await publisher.close()

    async def read_back() -> tuple[int, int, FakeStore]:
        other = open_nats_bus(nats_server.url)  # another API node: knows nothing itself
        held = await other.held_seq("a1", 1)
        unknown = await other.held_seq("nobody", 1)
        await other.close()
        store = FakeStore(target=700)
        await _consume(store, nats_server.url, workers=1)
        return held, unknown, store

    asyncio.run(publish())
    nats_server.restart(signal.SIGKILL)
    held, unknown, store = asyncio.run(read_back())
    assert (held, unknown) == (700, 0)
    assert store.acked == {"a1": 700}


def test_an_unreachable_server_is_a_bus_error(nats_server: NatsServer) -> None:
    nats_server.stop()
    # refused connections are retried until the first connect's deadline: a short one here
    # (the error is what is tested; the production deadline is 5 s)
    bus = NatsBus([nats_server.url], connect_timeout_s=0.5)
    with pytest.raises(BusError, match="cannot reach NATS"):
        asyncio.run(bus.publish(BATCHES, _batch(1, 1)))


@pytest.mark.parametrize("location", ["", "127.0.0.1:4222", "http://x:1"], ids=str)
def test_a_bad_location_is_one_line(location: str) -> None:
    with pytest.raises(BusError, match="nats://HOST:4222"):
        BUSES.get("nats")(location)


def test_an_api_node_acks_what_jetstream_holds_before_any_worker_stored_it(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    store = SqliteStore(str(tmp_path / "db.sqlite"))
    store.add_agent(
        AgentRecord(id="a1", hostname="h", host_id="host-1", cert_fingerprint="f", enrolled_at=1)
    )
    agent = AgentIdentity(agent_id="a1", host_id="host-1", hostname="h")
    runner = StoreRunner()

    def body(first: int, last: int) -> bytes:
        events = [make_event(seq, seq * 1000) for seq in range(first, last + 1)]
        return encode_batch(Batch(agent_id="a1", first_seq=first, last_seq=last, events=events))

    async def run() -> tuple[int, int, int, int]:
        node, other = open_nats_bus(nats_server.url), open_nats_bus(nats_server.url)
        ingest = IngestService(store, runner, node, PlatformMetrics())
        elsewhere = IngestService(store, runner, other, PlatformMetrics())
        first = (await ingest.ingest(agent, body(1, 100), BATCH_CONTENT_TYPE, "zstd")).acked_seq
        second = (
            await elsewhere.ingest(agent, body(101, 150), BATCH_CONTENT_TYPE, "zstd")
        ).acked_seq
        asked = (await ingest.ack("a1")).acked_seq  # what another node published counts
        with pytest.raises(IngestError) as gap:
            await ingest.ingest(agent, body(152, 160), BATCH_CONTENT_TYPE, "zstd")
        await node.close()
        await other.close()
        return first, second, asked, gap.value.status

    try:
        assert asyncio.run(run()) == (100, 150, 150, 409)
        assert store.acked_seq("a1") == 0  # nothing stored: no worker ran
    finally:
        runner.close()
        store.close()
