"""A network output: alerts encoded into a `DiskQueue`, sent by one thread with back-off.

`emit` only encodes and queues, so a slow or absent receiver never holds up detection.
The sender hands the oldest batches to the `Transport` and removes alerts from the queue
only once the transport confirms them: at once for the HTTP outputs (their answer is the
confirmation), later for syslog over TCP/TLS (the receiver's TCP acknowledgement, checked
per batch: `pending`), so up to `IN_FLIGHT_BATCHES` batches are sent ahead. On failure
every unconfirmed alert stays queued; the sender waits (doubling from `retry_initial` to
`retry_max`) and sends again from the oldest, so order is kept and nothing accepted is
lost while the receiver is down (at least once: an alert whose confirmation was lost is
sent again). A full queue refuses new alerts: each refusal is counted in
`stats().dropped` and logged.
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
IN_FLIGHT_BATCHES = 4  # batches sent ahead of their confirmation
CONFIRM_POLL_S = 0.002  # how often unconfirmed alerts are checked when nothing else is sent


class Transport(Protocol):
    """Carries encoded alerts to one receiver."""

    def send(self, bodies: list[bytes]) -> None:
        """Send `bodies` in order; DeliveryError (with how many of the unconfirmed arrived)."""

    def pending(self) -> int:
        """How many bodies sent are not confirmed yet (the newest); DeliveryError if lost."""

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
        self._in_flight: list[int] = []  # ids sent and not confirmed, oldest first
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
        """Counts so far (queued: waiting on disk now, unconfirmed ones included)."""
        self._stats.queued = len(self._queue)
        return OutputStats(**vars(self._stats))

    def pending(self) -> int:
        """Alerts waiting in the queue (sent but unconfirmed ones included)."""
        return len(self._queue)

    def _run(self) -> None:
        delay = self._settings.retry_initial
        while not self._stopping.is_set():
            try:
                sent = self._step()
            except Exception as e:  # noqa: BLE001 - any failure keeps the alerts queued
                self._failed(e)
                self._stopping.wait(delay)
                delay = min(delay * 2, self._settings.retry_max)
                continue
            if sent:
                delay = self._settings.retry_initial
            else:  # idle: check confirmations soon, or sleep until alerts come
                self._wake.wait(CONFIRM_POLL_S if self._in_flight else 0.5)
                self._wake.clear()

    def _step(self) -> bool:
        """Take in confirmations and send the next batch; False when nothing was sent."""
        self._confirm()
        room = IN_FLIGHT_BATCHES * self._settings.batch - len(self._in_flight)
        after = self._in_flight[-1] if self._in_flight else 0
        batch = self._queue.peek(min(room, self._settings.batch), after) if room > 0 else []
        if not batch:
            return False
        self._in_flight.extend(row_id for row_id, _ in batch)  # in flight once attempted
        self._transport.send([body for _, body in batch])
        self._confirm()
        return True

    def _confirm(self) -> None:
        if self._in_flight:
            self._delivered(len(self._in_flight) - self._transport.pending())

    def _failed(self, error: Exception) -> None:
        """Count what did arrive; everything else is sent again from the oldest."""
        if not isinstance(error, DeliveryError | OSError):  # a bug: say where, keep running
            log.exception("output %s: unexpected failure", self.name, exc_info=error)
        self._delivered(error.delivered if isinstance(error, DeliveryError) else 0)
        self._in_flight.clear()
        self._stats.retries += 1
        log.warning("output %s: %s; %d alerts queued, retrying", self.name, error, self.pending())
        self._transport.reset()

    def _delivered(self, count: int) -> None:
        """The oldest `count` alerts in flight arrived: they leave the queue."""
        count = min(count, len(self._in_flight))
        if count <= 0:
            return
        self._queue.remove_through(self._in_flight[count - 1])
        del self._in_flight[:count]
        self._stats.sent += count

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
