"""Hands the TLS client certificate to the app: uvicorn does not, so a protocol subclass does.

`PeerCertProtocol` reads the verified peer certificate (DER) once per connection, after the
handshake, and puts it in the connection's copy of the ASGI `state`; a route reads it as
`request.state.peer_cert_der` (None when the client sent no certificate).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

PEER_CERT_STATE = "peer_cert_der"


class PeerCertProtocol(H11Protocol):
    """uvicorn's h11 protocol plus the client certificate in each request's state."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Record the peer certificate of this connection, then proceed as uvicorn does."""
        ssl_object: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        state: dict[str, Any] = dict(self.app_state)
        state[PEER_CERT_STATE] = der
        self.app_state = state
        super().connection_made(transport)
