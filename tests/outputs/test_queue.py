"""The on-disk queue: order, persistence across reopening, a bound that refuses (counted)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from stockade.outputs.base import OutputContext
from stockade.outputs.delivery import QueuedOutput
from stockade.outputs.queue import DiskQueue
from tests.outputs.alerts import alerts, fast_retry


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
