"""Message bus between ingest and workers (in-process now; NATS JetStream later)."""

from __future__ import annotations

from stockade.platform.bus.base import BATCHES, BUSES, Bus, BusError
from stockade.platform.bus.inprocess import InProcessBus

__all__ = ["BATCHES", "BUSES", "Bus", "BusError", "InProcessBus"]
