"""The keep-alive HTTP client of the batch HTTP outputs (splunk_hec, webhook).

Built on http.client, which writes each request's headers and body in one send: measured
here, a small POST costs a sixth of what it costs through httpx. The one-alert-per-POST
http output pipelines its requests instead (http_pipeline.py).
"""

from __future__ import annotations

import http.client
import urllib.parse

from stockade.outputs.base import DeliveryError, OutputError
from stockade.outputs.tls import client_context


class HttpClient:
    """One keep-alive connection to the origin of `url` (reopened after a failure)."""

    def __init__(self, url: str, key: str, ca_cert: str, insecure: bool, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OutputError(f"{key} {url!r}: expected http(s)://host[:port][/path]")
        self.url = url
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._host, self._port = parts.hostname, parts.port
        https = parts.scheme == "https"
        self._tls = client_context(ca_cert, insecure) if https else None
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._tls is not None:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout, context=self._tls
                )
            else:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self._timeout
                )
        return self._conn

    def post(self, path: str, body: bytes, headers: dict[str, str], delivered: int = 0) -> bytes:
        """POST `body` to `path`; the answer's body, or DeliveryError unless it is 2xx."""
        try:
            conn = self._connection()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as e:
            self.reset()
            raise DeliveryError(f"POST {self.url}: {e!r}", delivered) from e
        if not 200 <= response.status < 300:
            text = answer[:200].decode(errors="replace").replace("\n", " ")
            raise DeliveryError(f"POST {self.url}: {response.status} {text}", delivered)
        return answer

    def reset(self) -> None:
        """Drop the connection; the next request opens a new one."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
