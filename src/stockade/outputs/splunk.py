"""`splunk_hec_output`: Splunk HTTP Event Collector, event endpoint, indexer acknowledgement.

Each batch is one POST of concatenated HEC event objects to /services/collector/event
on the output's channel (`X-Splunk-Request-Channel`). With `ack`, the answer's `ackId`
is polled at /services/collector/ack until Splunk says the batch is indexed; only then
does it leave the queue (a batch never acknowledged within `ack_timeout` is sent again).
"""

from __future__ import annotations

import calendar
import time
import uuid
from typing import Any

import msgspec

from stockade.model import Alert
from stockade.outputs.base import OUTPUTS, DeliveryError, OutputContext, require
from stockade.outputs.delivery import QueuedOutput
from stockade.outputs.falco_format import falco_dict
from stockade.outputs.http_client import HttpClient
from stockade.outputs.settings import OutputSettings, SplunkHecOutput

EVENT_PATH = "/services/collector/event"
ACK_PATH = "/services/collector/ack"
CHANNEL_HEADER = "X-Splunk-Request-Channel"
_encode = msgspec.json.Encoder().encode


def epoch_seconds(rfc3339: str) -> float:
    """Seconds since the epoch of a Falco time (`2026-12-06T23:17:03.123456789Z`)."""
    whole = calendar.timegm(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S"))
    fraction = rfc3339[20:].rstrip("Z")[:9] if rfc3339[19:20] == "." else ""
    return whole + (int(fraction.ljust(9, "0")) / 1e9 if fraction else 0.0)


def hec_event(alert: Alert, settings: OutputSettings) -> bytes:
    """The alert as one HEC event object (Falco's JSON as its `event`)."""
    hec = settings.splunk_hec_output
    body: dict[str, Any] = {
        "time": round(epoch_seconds(alert.time), 6),
        "host": alert.hostname or "-",
        "source": hec.source,
        "sourcetype": hec.sourcetype,
        "event": falco_dict(alert, settings),
    }
    if hec.index:
        body["index"] = hec.index
    return _encode(body)


class _HecAnswer(msgspec.Struct):
    code: int = -1
    text: str = ""
    ackId: int | None = None  # noqa: N815 - HEC's own spelling


class _AckAnswer(msgspec.Struct):
    acks: dict[str, bool] = {}


class HecTransport:
    """POSTs batches to the event endpoint and waits for their acknowledgement."""

    def __init__(self, settings: SplunkHecOutput) -> None:
        url = require(settings.url, "splunk_hec_output.url")
        self._client = HttpClient(
            url, "splunk_hec_output.url", settings.ca_cert, settings.insecure, settings.timeout
        )
        base = self._client.path.split("?")[0].rstrip("/")
        self._event_path, self._ack_path = base + EVENT_PATH, base + ACK_PATH
        self._settings = settings
        self._channel = str(uuid.uuid4())
        self._headers = {
            "Authorization": f"Splunk {require(settings.token, 'splunk_hec_output.token')}",
            "Content-Type": "application/json",
            CHANNEL_HEADER: self._channel,
        }

    def send(self, bodies: list[bytes]) -> None:
        """POST the batch; with acks, return only once Splunk has indexed it."""
        content = self._client.post(self._event_path, b"\n".join(bodies), self._headers)
        try:
            answer = msgspec.json.decode(content, type=_HecAnswer)
        except msgspec.DecodeError as e:
            raise DeliveryError(f"HEC answered with something other than its JSON: {e}") from e
        if answer.code != 0:
            raise DeliveryError(f"HEC refused the batch: code {answer.code} {answer.text}")
        if self._settings.ack:
            if answer.ackId is None:
                raise DeliveryError("HEC gave no ackId: enable indexer acknowledgement")
            self._await_ack(answer.ackId)

    def _await_ack(self, ack_id: int) -> None:
        """Poll the ack endpoint until `ack_id` is indexed (DeliveryError past the timeout)."""
        deadline = time.monotonic() + self._settings.ack_timeout
        pause = 0.005
        query = _encode({"acks": [ack_id]})
        while True:
            content = self._client.post(self._ack_path, query, self._headers)
            try:
                acks = msgspec.json.decode(content, type=_AckAnswer).acks
            except msgspec.DecodeError as e:
                raise DeliveryError(f"HEC's ack answer is not its JSON: {e}") from e
            if acks.get(str(ack_id)):
                return
            if time.monotonic() >= deadline:
                raise DeliveryError(f"HEC did not acknowledge batch {ack_id} in time")
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def pending(self) -> int:
        """None: a send returns only once the receiver answered."""
        return 0

    def reset(self) -> None:
        """Drop the connection; the next send opens a new one."""
        self._client.reset()

    def close(self) -> None:
        """Close the connection."""
        self._client.reset()


def splunk_hec_output(context: OutputContext) -> QueuedOutput | None:
    """The HEC output when `splunk_hec_output.enabled`."""
    settings = context.settings
    if not settings.splunk_hec_output.enabled:
        return None
    transport = HecTransport(settings.splunk_hec_output)
    return QueuedOutput("splunk_hec", context, lambda a: hec_event(a, settings), transport)


OUTPUTS.register("splunk_hec", splunk_hec_output)
