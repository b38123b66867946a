"""A network output: alerts encoded into a `DiskQueue`, sent by one thread with back-off.

`emit` only encodes and queues, so a slow or absent receiver never holds up detection.
The sender takes the oldest batch, hands it to the `Transport`, and removes it once sent;
on failure it keeps the batch, waits (doubling from `retry_initial` to `retry_max`) and
tries again, so order is kept and nothing accepted is lost while the receiver is down.
A full queue refuses new alerts: each refusal is counted in `stats().dropped` and logged.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from stockade.model import Alert
from stockade.outputs.base import DeliveryError, OutputContext, OutputStats
from stockade.outputs.queue import DiskQueue

log = logging.getLogger(__name__)
FULL_LOG_EVERY_S = 10.0


class Transport(Protocol):
    """Carries encoded alerts to one receiver."""

    def send(self, bodies: list[bytes]) -> None:
        """Deliver `bodies` in order; DeliveryError (with how many arrived) when it fails."""

    def reset(self) -> None:
        """Drop the connection after a failure (the next send reconnects)."""

    def close(self) -> None:
        """Release the connection."""


class QueuedOutput:
    """One network output: encode, queue on disk, send in order, retry with back-off."""

    def __init__(
        self,
        name: str,
        context: OutputContext,
        encode: Callable[[Alert], bytes],
        transport: Transport,
    ) -> None:
        self.name = name
        self._settings = context.settings.outputs_queue
        self._encode = encode
        self._transport = transport
        self._queue = DiskQueue(context.queue_dir / f"{name}.sqlite", self._settings.capacity)
        self._stats = OutputStats()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._last_full_log = 0.0
        self._thread = threading.Thread(target=self._run, name=f"output-{name}", daemon=True)
        self._thread.start()

    def emit(self, alerts: Sequence[Alert]) -> None:
        """Queue `alerts` (refusing, counted and logged, what a full queue has no room for)."""
        if not alerts:
            return
        try:
            taken = self._queue.put([self._encode(a) for a in alerts])
        except sqlite3.Error as e:  # a full disk: refused like a full queue, with its reason
            self._refused(len(alerts), f"cannot write to {self._queue.path}: {e}")
            return
        if taken < len(alerts):
            full = f"queue {self._queue.path} is full ({self._queue.capacity} alerts)"
            self._refused(len(alerts) - taken, full)
        self._wake.set()

    def _refused(self, count: int, why: str) -> None:
        self._stats.dropped += count
        now = time.monotonic()
        if now - self._last_full_log >= FULL_LOG_EVERY_S:  # once per period, not per alert
            self._last_full_log = now
            log.error(
                "output %s: %s: %d alerts refused so far", self.name, why, self._stats.dropped
            )

    def stats(self) -> OutputStats:
        """Counts so far (queued: waiting on disk now)."""
        self._stats.queued = len(self._queue)
        return OutputStats(**vars(self._stats))

    def pending(self) -> int:
        """Alerts waiting in the queue."""
        return len(self._queue)

    def _run(self) -> None:
        delay = self._settings.retry_initial
        while not self._stopping.is_set():
            batch = self._queue.peek(self._settings.batch)
            if not batch:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            if self._send(batch):
                delay = self._settings.retry_initial
            else:
                self._stopping.wait(delay)
                delay = min(delay * 2, self._settings.retry_max)

    def _send(self, batch: list[tuple[int, bytes]]) -> bool:
        """Send one batch; True when all of it arrived (what did arrive leaves the queue)."""
        try:
            self._transport.send([body for _, body in batch])
        except Exception as e:  # noqa: BLE001 - any failure keeps the batch queued for a retry
            delivered = e.delivered if isinstance(e, DeliveryError) else 0
            if not isinstance(e, DeliveryError | OSError):  # a bug: say where, keep running
                log.exception("output %s: unexpected failure", self.name)
            if delivered:
                self._delivered(batch[:delivered])
            self._stats.retries += 1
            log.warning("output %s: %s; %d alerts queued, retrying", self.name, e, self.pending())
            self._transport.reset()
            return False
        self._delivered(batch)
        return True

    def _delivered(self, batch: list[tuple[int, bytes]]) -> None:
        self._queue.remove_through(batch[-1][0])
        self._stats.sent += len(batch)

    def close(self) -> None:
        """Send what is queued for up to the drain timeout; the rest waits on disk."""
        deadline = time.monotonic() + self._settings.drain_timeout
        while self.pending() and time.monotonic() < deadline and self._thread.is_alive():
            self._wake.set()
            time.sleep(0.01)
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=30)
        self._transport.close()
        self._queue.close()
