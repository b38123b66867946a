"""The in-process `Bus`: publish awaits every subscribed handler in turn."""

from __future__ import annotations

from collections import defaultdict

from stockade.platform.bus.base import BUSES, BatchHandler, BusError
from stockade.platform.bus.codec import decode_body
from stockade.platform.bus.signals import LocalSignals, SignalHandler
from stockade.platform.messages import CheckedBody, IngestBatch


class InProcessBus:
    """A `Bus` inside one process; durable once the handlers return."""

    def __init__(self) -> None:
        self._handlers: defaultdict[str, list[BatchHandler]] = defaultdict(list)
        self._signals = LocalSignals()
        self._closed = False

    def subscribe(self, subject: str, handler: BatchHandler) -> None:
        """Deliver messages published on `subject` to `handler`."""
        self._handlers[subject].append(handler)

    async def publish(self, subject: str, batch: IngestBatch | CheckedBody) -> None:
        """Run each handler of `subject` on `batch`; their errors propagate."""
        if self._closed:
            raise BusError(f"bus is closed; cannot publish on {subject}")
        handlers = self._handlers.get(subject)
        if not handlers:
            raise BusError(f"no subscriber on {subject}; start the store worker first")
        decoded = decode_body(batch.body) if isinstance(batch, CheckedBody) else batch
        for handler in handlers:
            await handler(decoded)

    async def listen(self, topic: str, handler: SignalHandler) -> None:
        """Call `handler(key)` for every later signal on `topic` (this process's)."""
        await self._signals.listen(topic, handler)

    async def signal(self, topic: str, key: str) -> None:
        """Call the listeners of `topic` now: there is no other node to tell."""
        await self._signals.signal(topic, key)

    async def held_seq(self, agent_id: str, at_least: int) -> int:  # noqa: ARG002
        """0: what was published here is stored before `publish` returns."""
        return 0

    async def consume(self) -> None:
        """BusError: this bus delivers at publish, inside the publishing process."""
        raise BusError("the in-process bus has nothing to consume; run workers with --bus nats")

    async def close(self) -> None:
        """Refuse further publishing."""
        self._closed = True


def open_inprocess_bus(location: str) -> InProcessBus:
    """A new in-process bus; `location` must be empty (there is nothing to connect to)."""
    if location:
        raise BusError(f"the in-process bus takes no location (got {location!r})")
    return InProcessBus()


BUSES.register("inprocess", open_inprocess_bus)
