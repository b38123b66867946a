"""The `Bus` interface between ingest and the workers, and its registry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from stockade.platform.errors import PlatformError
from stockade.platform.messages import CheckedBody, IngestBatch
from stockade.registry import Registry

BATCHES = "stockade.batches"
"""Subject of validated agent batches; the store worker consumes it."""

BatchHandler = Callable[[IngestBatch], Awaitable[None]]


class BusError(PlatformError):
    """A message could not be delivered."""


class Bus(Protocol):
    """Carries validated batches from ingest to workers.

    `publish` returns once the message is durable: for the in-process bus that is when
    every handler has finished (so a store worker has committed it); a handler's error
    reaches the publisher. On a shared bus (NATS JetStream) it is when the bus's server
    has it on disk; workers elsewhere `consume` it, and the agent's ack is `held_seq`.
    """

    def subscribe(self, subject: str, handler: BatchHandler) -> None:
        """Deliver messages published on `subject` to `handler`."""

    async def publish(self, subject: str, batch: IngestBatch | CheckedBody) -> None:
        """Deliver `batch` to the subject's subscribers (a checked body decoded for them);
        BusError when nobody listens."""

    async def held_seq(self, agent_id: str, at_least: int) -> int:
        """The highest seq of the agent the bus holds durably, stored or not yet (0: none
        beyond the store). A bus may answer from its own record of what it published when
        that reaches `at_least`, and asks its server otherwise."""

    async def consume(self) -> None:
        """Deliver messages from the bus's server to the subscribers until cancelled;
        BusError for a bus that delivers at publish (nothing to consume)."""

    async def close(self) -> None:
        """Stop delivering."""


BusFactory = Callable[[str], Bus]  # location: a URL; "" for a bus inside this process
BUSES: Registry[BusFactory] = Registry("bus")
