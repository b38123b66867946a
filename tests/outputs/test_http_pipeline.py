"""The http output's pipelining: answers read in order, a refusal or a closing server
mid-window resends from the first unacknowledged alert, answers framed either way."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from stockade.outputs import open_outputs
from stockade.outputs.http_pipeline import WINDOW, read_answer
from stockade.outputs.settings import HttpOutput
from stockade.platform.pki import ServerTls
from tests.outputs.alerts import alerts, fast_retry
from tests.support.framing_receiver import FramingFalcosidekickReceiver
from tests.support.http_receivers import Answer, FalcosidekickReceiver
from tests.support.polling import poll_until


class _RefusesOnce(FalcosidekickReceiver):
    """Answers 503 to the alert numbered `refuse` the first time it arrives."""

    def __init__(self, refuse: int) -> None:
        super().__init__()
        self.refuse = refuse
        self.refused = False

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """falcosidekick's answer, but 503 once for `refuse`."""
        if not self.refused and f'"seq":{self.refuse},' in body.decode():
            self.refused = True
            return 503, {"error": "busy"}
        return super().route(method, path, headers, body)


def _seqs(received: list[dict[str, Any]]) -> list[int]:
    return [r["seq"] for r in received]


def test_a_refused_alert_mid_window_is_sent_again_with_what_followed(queue_dir: Path) -> None:
    receiver = _RefusesOnce(refuse=10).start()
    http = HttpOutput(enabled=True, url=receiver.url + "/")
    outputs = open_outputs(fast_retry(queue_dir, http_output=http), queue_dir)
    try:
        outputs.emit(alerts(WINDOW * 2))
        poll_until(lambda: outputs.stats()["http"].sent == WINDOW * 2, 10, "every alert sent")
    finally:
        outputs.close()
        receiver.stop()
    seqs = _seqs(receiver.alerts)
    assert receiver.refused and outputs.stats()["http"].retries == 1
    # at-least-once: what followed the refused one in its window arrived before the refusal
    # was read, and again after it; the resent run starts at the refused alert, in order
    restart = seqs.index(10)
    assert seqs[:restart] == [*range(1, 10), *range(11, 11 + restart - 9)]
    assert seqs[restart:] == list(range(10, WINDOW * 2 + 1))


def test_alerts_go_over_https_verified_by_the_ca(queue_dir: Path, server_tls: ServerTls) -> None:
    receiver = FalcosidekickReceiver().with_tls(str(server_tls.cert_path), str(server_tls.key_path))
    receiver.start()
    http = HttpOutput(enabled=True, url=receiver.url + "/", ca_cert=str(server_tls.ca_path))
    outputs = open_outputs(fast_retry(queue_dir, http_output=http), queue_dir)
    try:
        outputs.emit(alerts(WINDOW + 10))
        poll_until(lambda: len(receiver.alerts) >= WINDOW + 10, 10, "every alert over HTTPS")
    finally:
        outputs.close()
        receiver.stop()
    assert receiver.url.startswith("https://")
    assert _seqs(receiver.alerts) == list(range(1, WINDOW + 11))


def test_every_request_is_framed_and_checked_by_the_fast_receiver(queue_dir: Path) -> None:
    receiver = FramingFalcosidekickReceiver().start()
    http = HttpOutput(enabled=True, url=f"http://127.0.0.1:{receiver.port}/")
    outputs = open_outputs(fast_retry(queue_dir, http_output=http), queue_dir)
    try:
        outputs.emit(alerts(300))
        poll_until(lambda: receiver.frames >= 300, 10, "300 alerts framed")
    finally:
        outputs.close()
        receiver.stop()
    assert receiver.errors == []
    assert outputs.stats()["http"].sent == 300


def test_answers_are_read_one_after_another_by_length_or_chunks() -> None:
    stream = io.BufferedReader(
        io.BytesIO(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            b"HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"
        )  # fmt: skip
    )
    answers = [read_answer(stream) for _ in range(3)]
    assert [(a.status, a.body, a.closing) for a in answers] == [
        (200, b"{}", False),
        (201, b"abc", False),
        (500, b"x", True),
    ]
