"""`http_output`: each alert POSTed as Falco's JSON, as falcosidekick receives it."""

from __future__ import annotations

from stockade.outputs.base import OUTPUTS, OutputContext, require
from stockade.outputs.delivery import QueuedOutput
from stockade.outputs.falco_format import falco_json
from stockade.outputs.http_pipeline import PipelinedClient
from stockade.outputs.settings import HttpOutput


class FalcoHttpTransport:
    """One POST per alert, pipelined in order (falcosidekick reads one alert per request)."""

    def __init__(self, settings: HttpOutput) -> None:
        url = require(settings.url, "http_output.url")
        self._client = PipelinedClient(
            url, "http_output.url", settings.ca_cert, settings.insecure, settings.timeout
        )
        self._headers = {"Content-Type": "application/json", "User-Agent": settings.user_agent}

    def send(self, bodies: list[bytes]) -> None:
        """POST each alert in order; DeliveryError says how many were acknowledged first."""
        self._client.post_each(bodies, self._headers)

    def pending(self) -> int:
        """None: a send returns only once the receiver answered."""
        return 0

    def reset(self) -> None:
        """Drop the connection; the next send opens a new one."""
        self._client.reset()

    def close(self) -> None:
        """Close the connection."""
        self._client.reset()


def http_output(context: OutputContext) -> QueuedOutput | None:
    """The falcosidekick-compatible output when `http_output.enabled`."""
    settings = context.settings
    if not settings.http_output.enabled:
        return None
    transport = FalcoHttpTransport(settings.http_output)
    return QueuedOutput("http", context, lambda a: falco_json(a, settings), transport)


OUTPUTS.register("http", http_output)
