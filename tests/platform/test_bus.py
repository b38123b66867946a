"""The in-process bus: publish runs the handlers and hands their errors to the publisher."""

from __future__ import annotations

import asyncio

import pytest

from stockade.model.wire import Batch
from stockade.platform.bus import BATCHES, BUSES, BusError
from stockade.platform.bus.inprocess import InProcessBus
from stockade.platform.messages import IngestBatch

MESSAGE = IngestBatch(batch=Batch(agent_id="a", first_seq=1, last_seq=1), event_blobs=[])


def test_publish_awaits_every_handler() -> None:
    seen: list[str] = []

    async def first(message: IngestBatch) -> None:
        await asyncio.sleep(0)
        seen.append(f"first:{message.batch.agent_id}")

    async def second(message: IngestBatch) -> None:
        seen.append(f"second:{message.batch.agent_id}")

    bus = InProcessBus()
    bus.subscribe(BATCHES, first)
    bus.subscribe(BATCHES, second)
    asyncio.run(bus.publish(BATCHES, MESSAGE))
    assert seen == ["first:a", "second:a"]


def test_handler_error_reaches_the_publisher() -> None:
    async def failing(message: IngestBatch) -> None:
        raise RuntimeError("disk full")

    bus = InProcessBus()
    bus.subscribe(BATCHES, failing)
    with pytest.raises(RuntimeError, match="disk full"):
        asyncio.run(bus.publish(BATCHES, MESSAGE))


def test_publish_without_subscriber_or_after_close_fails() -> None:
    bus = InProcessBus()
    with pytest.raises(BusError, match="no subscriber"):
        asyncio.run(bus.publish(BATCHES, MESSAGE))
    asyncio.run(bus.close())
    with pytest.raises(BusError, match="closed"):
        asyncio.run(bus.publish(BATCHES, MESSAGE))


def test_inprocess_bus_is_registered() -> None:
    assert isinstance(BUSES.get("inprocess")(""), InProcessBus)
    with pytest.raises(BusError, match="takes no location"):
        BUSES.get("inprocess")("nats://127.0.0.1:4222")
