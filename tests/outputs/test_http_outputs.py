"""The HTTP outputs against real receivers: falcosidekick's checks, Splunk HEC's event and
ack endpoints, a webhook verifying HMAC signatures; each survives its receiver's outage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stockade.outputs import AlertOutputs, open_outputs
from stockade.outputs.settings import HttpOutput, SplunkHecOutput, WebhookOutput
from tests.outputs.alerts import alerts, fast_retry
from tests.support.http_receivers import (
    FalcosidekickReceiver,
    HecReceiver,
    HttpReceiver,
    WebhookReceiver,
    falcosidekick_problem,
)
from tests.support.polling import poll_until

TOKEN = "00000000-1111-2222-3333-444444444444"
SECRET = "webhook-shared-secret"


def _sidekick(queue_dir: Path, receiver: HttpReceiver) -> AlertOutputs:
    http = HttpOutput(enabled=True, url=receiver.url + "/")
    return open_outputs(fast_retry(queue_dir, http_output=http), queue_dir)


def _hec(queue_dir: Path, receiver: HttpReceiver, token: str = TOKEN) -> AlertOutputs:
    hec = SplunkHecOutput(enabled=True, url=receiver.url, token=token, index="falco")
    return open_outputs(fast_retry(queue_dir, splunk_hec_output=hec), queue_dir)


def _webhook(queue_dir: Path, receiver: HttpReceiver, secret: str = SECRET) -> AlertOutputs:
    hook = WebhookOutput(enabled=True, url=receiver.url + "/hook", secret=secret)
    return open_outputs(fast_retry(queue_dir, webhook_output=hook), queue_dir)


def _seqs(received: list[dict[str, Any]]) -> list[int]:
    return [r.get("event", r)["seq"] for r in received]


def test_falcosidekick_accepts_each_alert(queue_dir: Path) -> None:
    receiver = FalcosidekickReceiver().start()
    outputs = _sidekick(queue_dir, receiver)
    try:
        outputs.emit(alerts(30))
        poll_until(lambda: len(receiver.alerts) >= 30, 10, "30 alerts at falcosidekick")
    finally:
        outputs.close()
        receiver.stop()
    assert receiver.rejected == []
    assert _seqs(receiver.alerts) == list(range(1, 31))
    assert receiver.alerts[0]["rule"] == "Terminal shell in container"


def test_the_falcosidekick_receiver_refuses_what_falcosidekick_refuses() -> None:
    good = {
        "output": "x",
        "priority": "Warning",
        "rule": "r",
        "time": "2026-12-06T23:17:03.000000001Z",
        "output_fields": {"proc.name": "sh"},
    }
    assert falcosidekick_problem(good) is None
    for key, value in [("rule", ""), ("priority", "Loud"), ("time", "yesterday"),
                       ("output_fields", {}), ("output", "")]:  # fmt: skip
        assert falcosidekick_problem({**good, key: value}) is not None, key


def test_hec_batches_wait_for_indexer_acknowledgement(queue_dir: Path) -> None:
    receiver = HecReceiver(TOKEN, ack_after=3).start()  # indexed at the third poll
    outputs = _hec(queue_dir, receiver)
    try:
        outputs.emit(alerts(40))
        poll_until(lambda: outputs.stats()["splunk_hec"].sent == 40, 10, "40 alerts acknowledged")
    finally:
        outputs.close()
        receiver.stop()
    assert receiver.ack_polls >= 3
    assert _seqs(receiver.events) == list(range(1, 41))
    first = receiver.events[0]
    assert (first["sourcetype"], first["source"], first["index"]) == ("falco", "stockade", "falco")
    assert first["time"] == pytest.approx(1796599023.000000001, abs=1e-6)
    assert first["event"]["priority"] == "Warning"


def test_hec_with_a_wrong_token_keeps_the_alerts_queued(queue_dir: Path) -> None:
    receiver = HecReceiver(TOKEN).start()
    outputs = _hec(queue_dir, receiver, token="wrong")
    try:
        outputs.emit(alerts(5))
        poll_until(lambda: outputs.stats()["splunk_hec"].retries >= 2, 10, "refused batches")
        assert outputs.stats()["splunk_hec"].queued == 5
    finally:
        outputs.close()
        receiver.stop()
    assert receiver.events == []


def test_webhook_requests_carry_a_valid_signature(queue_dir: Path) -> None:
    receiver = WebhookReceiver(SECRET).start()
    outputs = _webhook(queue_dir, receiver)
    forged = _webhook(queue_dir / "forged", receiver, secret="not-the-secret")
    try:
        outputs.emit(alerts(25))
        forged.emit(alerts(1, first=1000))
        poll_until(lambda: len(receiver.alerts) >= 25, 10, "25 signed alerts")
        poll_until(lambda: forged.stats()["webhook"].retries >= 2, 10, "forged ones refused")
    finally:
        outputs.close()
        forged.close()
        receiver.stop()
    assert _seqs(receiver.alerts) == list(range(1, 26))


@pytest.mark.parametrize("kind", ["http", "splunk_hec", "webhook"])
def test_a_receiver_down_then_back_gets_everything_in_order(kind: str, queue_dir: Path) -> None:
    receiver: FalcosidekickReceiver | HecReceiver | WebhookReceiver
    if kind == "http":
        receiver = FalcosidekickReceiver().start()
        outputs = _sidekick(queue_dir, receiver)
    elif kind == "splunk_hec":
        receiver = HecReceiver(TOKEN).start()
        outputs = _hec(queue_dir, receiver)
    else:
        receiver = WebhookReceiver(SECRET).start()
        outputs = _webhook(queue_dir, receiver)

    def received() -> list[dict[str, Any]]:
        return receiver.events if isinstance(receiver, HecReceiver) else receiver.alerts

    try:
        outputs.emit(alerts(50))
        # delivered as the output sees it (HEC: acknowledged), so none is in flight at the stop
        poll_until(lambda: outputs.stats()[kind].sent == 50, 10, "the first 50 alerts delivered")
        receiver.stop()
        outputs.emit(alerts(150, first=51))
        poll_until(lambda: outputs.stats()[kind].retries >= 3, 10, "retries while down")
        assert outputs.stats()[kind].queued == 150
        receiver.start()  # the same port
        poll_until(lambda: len(received()) >= 200, 20, "every alert after the outage")
    finally:
        outputs.close()
        receiver.stop()
    assert _seqs(received()) == list(range(1, 201))
    assert outputs.stats()[kind].dropped == 0
