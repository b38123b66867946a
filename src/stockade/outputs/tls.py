"""The TLS client context of the network outputs: system CAs, a given bundle, or none."""

from __future__ import annotations

import ssl

from stockade.outputs.base import OutputError


def client_context(ca_cert: str, insecure: bool) -> ssl.SSLContext:
    """A client context verifying with `ca_cert` (PEM; empty: the system's CAs)."""
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif ca_cert:
        try:
            context.load_verify_locations(ca_cert)
        except (OSError, ssl.SSLError) as e:
            raise OutputError(f"cannot load the CA bundle {ca_cert}: {e}") from e
    return context
