"""The on-disk queue: order, persistence across reopening, a bound that refuses (counted)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from stockade.outputs.base import DeliveryError, OutputContext
from stockade.outputs.delivery import QueuedOutput
from stockade.outputs.queue import DiskQueue
from tests.outputs.alerts import alerts, fast_retry
from tests.support.polling import poll_until


def test_queue_keeps_order_and_survives_reopening(tmp_path: Path) -> None:
    queue = DiskQueue(tmp_path / "q.sqlite", capacity=100)
    assert queue.put([b"a", b"b", b"c"]) == 3
    rows = queue.peek(2)
    assert [body for _, body in rows] == [b"a", b"b"]
    queue.remove_through(rows[0][0])
    queue.close()
    again = DiskQueue(tmp_path / "q.sqlite", capacity=100)
    assert len(again) == 2
    assert [body for _, body in again.peek(10)] == [b"b", b"c"]
    again.close()


def test_queue_takes_only_what_fits(tmp_path: Path) -> None:
    queue = DiskQueue(tmp_path / "q.sqlite", capacity=2)
    assert queue.put([b"1", b"2", b"3"]) == 2
    assert queue.put([b"4"]) == 0
    assert [body for _, body in queue.peek(10)] == [b"1", b"2"]
    queue.close()


class _Down:
    """A receiver that is never there."""

    def send(self, bodies: list[bytes]) -> None:
        raise OSError("connection refused")

    def pending(self) -> int:
        return 0

    def reset(self) -> None:
        return

    def close(self) -> None:
        return


def test_a_full_queue_refuses_new_alerts_counted_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = fast_retry(tmp_path)
    settings.outputs_queue.capacity = 5
    settings.outputs_queue.drain_timeout = 0
    encode = lambda a: a.uuid.encode()  # noqa: E731
    output = QueuedOutput("test", OutputContext(settings, tmp_path), encode, _Down())
    try:
        with caplog.at_level(logging.ERROR):
            output.emit(alerts(8))
        stats = output.stats()
        assert (stats.queued, stats.dropped, stats.sent) == (5, 3, 0)
        assert (
            "queue" in caplog.text and "full" in caplog.text and "3 alerts refused" in caplog.text
        )
    finally:
        output.close()


class _Lagging:
    """A stream transport whose receiver confirms only what the test lets through, then
    breaks once: what was sent and not confirmed must be sent again, in order."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []  # every body written, resends included
        self.unconfirmed = 0
        self.confirm = threading.Event()
        self.broken = threading.Event()

    def send(self, bodies: list[bytes]) -> None:
        self.sent.extend(bodies)
        self.unconfirmed += len(bodies)

    def pending(self) -> int:
        if self.broken.is_set():
            self.broken.clear()
            raise DeliveryError("connection reset", 2)  # two more did arrive first
        if self.confirm.is_set():
            self.unconfirmed = 0
        return self.unconfirmed

    def reset(self) -> None:
        self.unconfirmed = 0

    def close(self) -> None:
        return


def test_alerts_leave_the_queue_only_once_confirmed(tmp_path: Path) -> None:
    transport = _Lagging()
    encode = lambda a: a.uuid[-3:].encode()  # noqa: E731
    output = QueuedOutput("test", OutputContext(fast_retry(tmp_path), tmp_path), encode, transport)
    try:
        output.emit(alerts(5))
        poll_until(lambda: len(transport.sent) == 5, 5, "5 alerts written")
        assert (output.stats().queued, output.stats().sent) == (5, 0)  # written, unconfirmed
        transport.broken.set()  # the connection breaks: 2 of the 5 were confirmed
        poll_until(lambda: len(transport.sent) == 8, 5, "the 3 unconfirmed written again")
        transport.confirm.set()
        poll_until(lambda: output.stats().queued == 0, 5, "every alert confirmed")
    finally:
        output.close()
    assert [int(b) for b in transport.sent] == [1, 2, 3, 4, 5, 3, 4, 5]
    assert output.stats().sent == 5
