"""The `Bus` interface between ingest and the workers, and its registry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from stockade.platform.errors import PlatformError
from stockade.platform.messages import IngestBatch
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
    reaches the publisher.
    """

    def subscribe(self, subject: str, handler: BatchHandler) -> None:
        """Deliver messages published on `subject` to `handler`."""

    async def publish(self, subject: str, batch: IngestBatch) -> None:
        """Deliver `batch` to the subject's subscribers; BusError when nobody listens."""

    async def close(self) -> None:
        """Stop delivering."""


BusFactory = Callable[[str], Bus]  # location: a URL; "" for a bus inside this process
BUSES: Registry[BusFactory] = Registry("bus")
