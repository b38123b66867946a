"""Every network output with its receiver down for a whole minute while alerts keep coming:
once the receivers are back, each has every alert exactly once, in order (per source too).

The four outputs (syslog over TCP, http to falcosidekick, Splunk HEC with acknowledgements,
the signed webhook) run side by side so the suite waits out the minute once. Receivers go
down only when what was emitted so far has arrived, so that exactly once can be asserted:
alerts in transit at the stop may arrive twice (at least once), which the quick
test_syslog_in_transit.py and test_http_in_transit.py cover.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from stockade.outputs import AlertOutputs, open_outputs
from stockade.outputs.settings import (
    HttpOutput,
    OutputSettings,
    OutputsQueue,
    SplunkHecOutput,
    SyslogOutput,
    WebhookOutput,
)
from tests.outputs.alerts import alerts
from tests.support.http_receivers import FalcosidekickReceiver, HecReceiver, WebhookReceiver
from tests.support.polling import poll_until
from tests.support.syslog_receiver import SyslogReceiver

OUTAGE_S = 60.0
KINDS = ("syslog", "http", "splunk_hec", "webhook")
TOKEN = "00000000-1111-2222-3333-444444444444"
SECRET = "webhook-shared-secret"


class _Receivers:
    """The four receivers, and the alert numbers each has received, in order."""

    def __init__(self) -> None:
        self.syslog = SyslogReceiver("tcp").start()
        self.http = FalcosidekickReceiver().start()
        self.hec = HecReceiver(TOKEN).start()
        self.webhook = WebhookReceiver(SECRET).start()
        self.all = (self.syslog, self.http, self.hec, self.webhook)

    def settings(self, queue_dir: Path) -> OutputSettings:
        """Every network output on, retrying with back-off up to 2 s."""
        queue = OutputsQueue(directory=str(queue_dir), retry_initial=0.1, retry_max=2.0)
        return msgspec.structs.replace(
            OutputSettings(outputs_queue=queue),
            syslog_output=SyslogOutput(
                enabled=True, host="127.0.0.1", port=self.syslog.port, protocol="tcp"
            ),
            http_output=HttpOutput(enabled=True, url=self.http.url + "/"),
            splunk_hec_output=SplunkHecOutput(enabled=True, url=self.hec.url, token=TOKEN),
            webhook_output=WebhookOutput(enabled=True, url=self.webhook.url, secret=SECRET),
        )

    def seqs(self) -> dict[str, list[int]]:
        """Alert numbers received, by output."""
        syslog = [
            int(m.cef.extension["spid"]) - 1000 for m in self.syslog.received() if m.cef
        ]  # fmt: skip
        return {
            "syslog": syslog,
            "http": _numbers(self.http.alerts),
            "splunk_hec": _numbers([e["event"] for e in self.hec.events]),
            "webhook": _numbers(self.webhook.alerts),
        }

    def all_have(self, count: int) -> Callable[[], bool]:
        """A check that every receiver has at least `count` alerts."""
        return lambda: all(len(s) >= count for s in self.seqs().values())

    def stop(self) -> None:
        """Every receiver down (connections dropped)."""
        for receiver in self.all:
            receiver.stop()

    def start(self) -> None:
        """Every receiver up again on its port."""
        for receiver in self.all:
            receiver.start()


def _numbers(payloads: list[dict[str, Any]]) -> list[int]:
    return [int(p["output_fields"]["proc.pid"]) - 1000 for p in payloads]


def _retries(outputs: AlertOutputs) -> dict[str, int]:
    return {kind: outputs.stats()[kind].retries for kind in KINDS}


def _one_more_retry(outputs: AlertOutputs) -> Callable[[], bool]:
    """A check that every output has failed once more since now."""
    before = _retries(outputs)
    return lambda: all(n > before[k] for k, n in _retries(outputs).items())


@pytest.mark.slow
def test_a_minute_without_receivers_loses_nothing_and_keeps_order(queue_dir: Path) -> None:
    receivers = _Receivers()
    outputs = open_outputs(receivers.settings(queue_dir), queue_dir)
    emitted = 0

    def emit(count: int) -> None:
        nonlocal emitted
        outputs.emit(alerts(count, first=emitted + 1))
        emitted += count

    try:
        emit(100)
        poll_until(receivers.all_have(100), 20, "the first 100 alerts at every receiver")
        poll_until(lambda: all(outputs.stats()[k].sent == 100 for k in KINDS), 10, "all sent")
        receivers.stop()
        back_at = time.monotonic() + OUTAGE_S
        while time.monotonic() < back_at:  # alerts keep coming; each round paced by a retry
            emit(25)
            poll_until(_one_more_retry(outputs), 10, "another failed attempt of every output")
        queued = {k: outputs.stats()[k].queued for k in KINDS}
        assert queued == dict.fromkeys(KINDS, emitted - 100)
        receivers.start()
        emit(100)  # and more after the restart
        poll_until(receivers.all_have(emitted), 60, f"all {emitted} alerts at every receiver")
    finally:
        outputs.close()
        receivers.stop()
    expected = list(range(1, emitted + 1))
    assert receivers.seqs() == dict.fromkeys(KINDS, expected)  # none lost, none twice, in order
    assert all(outputs.stats()[k].dropped == 0 for k in KINDS)
    assert emitted > 100 + 25 * 10  # alerts did keep coming during the outage
