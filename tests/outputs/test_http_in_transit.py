"""The HTTP outputs (falcosidekick, Splunk HEC with acknowledgements, the signed webhook)
with alerts in transit when the receiver goes down mid-stream: once it is back, every
alert has arrived, in order; only a request whose answer was lost arrives twice (the
resend starts from the oldest unanswered request, at least once)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stockade.outputs import open_outputs
from stockade.outputs.settings import HttpOutput, SplunkHecOutput, WebhookOutput
from tests.outputs.alerts import alerts, fast_retry
from tests.support.http_receivers import (
    FalcosidekickReceiver,
    HecReceiver,
    HttpReceiver,
    WebhookReceiver,
)
from tests.support.polling import poll_until

TOTAL = 1500
TOKEN = "00000000-1111-2222-3333-444444444444"
SECRET = "webhook-shared-secret"


def _numbers(payloads: list[dict[str, Any]]) -> list[int]:
    return [int(p["output_fields"]["proc.pid"]) - 1000 for p in payloads]


def _falcosidekick() -> tuple[HttpReceiver, dict[str, object], Callable[[], list[int]]]:
    receiver = FalcosidekickReceiver().start()
    settings: dict[str, object] = {"http_output": HttpOutput(enabled=True, url=receiver.url + "/")}
    return receiver, settings, lambda: _numbers(list(receiver.alerts))


def _hec() -> tuple[HttpReceiver, dict[str, object], Callable[[], list[int]]]:
    receiver = HecReceiver(TOKEN).start()
    hec = SplunkHecOutput(enabled=True, url=receiver.url, token=TOKEN)
    settings: dict[str, object] = {"splunk_hec_output": hec}
    return receiver, settings, lambda: _numbers([e["event"] for e in list(receiver.events)])


def _webhook() -> tuple[HttpReceiver, dict[str, object], Callable[[], list[int]]]:
    receiver = WebhookReceiver(SECRET).start()
    webhook = WebhookOutput(enabled=True, url=receiver.url, secret=SECRET)
    settings: dict[str, object] = {"webhook_output": webhook}
    return receiver, settings, lambda: _numbers(list(receiver.alerts))


RECEIVERS = {"http": _falcosidekick, "splunk_hec": _hec, "webhook": _webhook}


def _one_rewind(seqs: list[int]) -> None:
    """`seqs` is 1..k then j..TOTAL with j <= k + 1: nothing skipped, order kept."""
    k = next((i for i in range(1, len(seqs)) if seqs[i] != seqs[i - 1] + 1), len(seqs))
    assert seqs[:k] == list(range(1, k + 1))
    rest = seqs[k:]
    j = rest[0] if rest else k + 1
    assert j <= k + 1 and rest == list(range(j, TOTAL + 1))


@pytest.mark.parametrize("kind", sorted(RECEIVERS))
def test_a_receiver_down_mid_stream_gets_every_alert_once_back(kind: str, queue_dir: Path) -> None:
    receiver, changes, received = RECEIVERS[kind]()
    settings = fast_retry(queue_dir, **changes)
    settings.outputs_queue.batch = 50  # many requests: the stop falls among them
    outputs = open_outputs(settings, queue_dir)
    try:
        receiver.hold_after(8)  # then requests hang unanswered: the receiver is dying
        outputs.emit(alerts(TOTAL))
        poll_until(lambda: receiver.held > 0, 20, "a request in flight, unanswered")
        receiver.stop()  # the requests in flight are cut off
        stopped_at = len(received())
        receiver.start()
        poll_until(lambda: outputs.stats()[kind].queued == 0, 60, "every alert acknowledged")
    finally:
        outputs.close()
        receiver.stop()
    assert stopped_at < TOTAL, "the receiver went down while alerts were in transit"
    assert outputs.stats()[kind].retries >= 1
    _one_rewind(received())
