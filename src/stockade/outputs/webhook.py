"""`webhook_output`: batches of alerts POSTed as a JSON array, signed with HMAC-SHA256.

The receiver checks `X-Stockade-Signature: sha256=<hex>`, the HMAC-SHA256 under the
shared secret of `<X-Stockade-Timestamp>.<body>`; the timestamp (Unix seconds) lets it
refuse replays of old requests.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from stockade.outputs.base import OUTPUTS, OutputContext, require
from stockade.outputs.delivery import QueuedOutput
from stockade.outputs.falco_format import falco_json
from stockade.outputs.http_client import HttpClient
from stockade.outputs.settings import WebhookOutput

SIGNATURE_HEADER = "X-Stockade-Signature"
TIMESTAMP_HEADER = "X-Stockade-Timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookTransport:
    """One signed POST per batch."""

    def __init__(self, settings: WebhookOutput) -> None:
        url = require(settings.url, "webhook_output.url")
        self._client = HttpClient(
            url, "webhook_output.url", settings.ca_cert, settings.insecure, settings.timeout
        )
        self._secret = settings.secret
        self._headers = {"Content-Type": "application/json", **settings.headers}

    def send(self, bodies: list[bytes]) -> None:
        """POST the batch as one JSON array."""
        body = b"[" + b",".join(bodies) + b"]"
        headers = dict(self._headers)
        if self._secret:
            now = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = now
            headers[SIGNATURE_HEADER] = signature(self._secret, now, body)
        self._client.post(self._client.path, body, headers)

    def pending(self) -> int:
        """None: a send returns only once the receiver answered."""
        return 0

    def reset(self) -> None:
        """Drop the connection; the next send opens a new one."""
        self._client.reset()

    def close(self) -> None:
        """Close the connection."""
        self._client.reset()


def webhook_output(context: OutputContext) -> QueuedOutput | None:
    """The signed webhook output when `webhook_output.enabled`."""
    settings = context.settings
    if not settings.webhook_output.enabled:
        return None
    transport = WebhookTransport(settings.webhook_output)
    return QueuedOutput("webhook", context, lambda a: falco_json(a, settings), transport)


OUTPUTS.register("webhook", webhook_output)
