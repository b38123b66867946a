"""Message bus between ingest and workers: in-process, or NATS JetStream between processes.

The implementations register in BUSES (loaded through `stockade.plugins`); the platform
builds the configured one by id (`platform/backends.py`).
"""

from __future__ import annotations

from stockade.platform.bus.base import BATCHES, BUSES, Bus, BusError

__all__ = ["BATCHES", "BUSES", "Bus", "BusError"]
