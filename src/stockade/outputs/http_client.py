"""The httpx client the HTTP outputs share the set-up of (TLS, timeouts, keep-alive)."""

from __future__ import annotations

import httpx

from stockade.outputs.base import DeliveryError
from stockade.outputs.tls import client_context


def http_client(ca_cert: str, insecure: bool, timeout: float) -> httpx.Client:
    """A keep-alive client verifying TLS with `ca_cert` (or not at all when `insecure`)."""
    return httpx.Client(verify=client_context(ca_cert, insecure), timeout=timeout)


def post(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str], delivered: int = 0
) -> httpx.Response:
    """POST `body`; DeliveryError unless the receiver answers 2xx."""
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as e:
        raise DeliveryError(f"POST {url}: {e!r}", delivered) from e
    if not response.is_success:
        text = response.text[:200].replace("\n", " ")
        raise DeliveryError(f"POST {url}: {response.status_code} {text}", delivered)
    return response
