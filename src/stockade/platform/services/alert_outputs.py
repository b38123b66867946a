"""Forwards the alerts of each stored agent batch to the platform's configured outputs."""

from __future__ import annotations

from stockade.outputs import AlertOutputs
from stockade.platform.bus import Bus
from stockade.platform.bus.base import BATCHES
from stockade.platform.messages import IngestBatch


class AlertForwarder:
    """A bus subscriber after the store worker: what was stored goes to the outputs.

    `emit` only queues (network outputs send from their own threads), so a receiver
    that is slow or down never holds up ingest.
    """

    def __init__(self, outputs: AlertOutputs) -> None:
        self._outputs = outputs

    def attach(self, bus: Bus) -> None:
        """Subscribe to the batches subject (after the store worker: stored alerts only)."""
        if self._outputs.outputs:
            bus.subscribe(BATCHES, self.handle)

    async def handle(self, batch: IngestBatch) -> None:
        """Hand the batch's alerts to the outputs, in the agent's order."""
        self._outputs.emit(batch.batch.alerts)
