"""HTTP/1.1 pipelining on one keep-alive connection, for the one-alert-per-POST http output.

A window of requests is written at once, then their answers are read in order
(RFC 9112 section 9.3.2: a server answers pipelined requests in the order received).
The first answer that is not 2xx, or a broken connection, stops the batch: the requests
before it are acknowledged, the rest is sent again from the first unacknowledged one.
The window is small so that a server that stops reading cannot deadlock the two sides
(its answers to one window fit easily in the socket buffers).
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import urllib.parse
from typing import Any

from stockade.outputs.base import DeliveryError, OutputError
from stockade.outputs.tls import client_context

WINDOW = 64  # requests in flight before their answers are read


class _SharedReader:
    """The connection's one buffered reader, lent to each HTTPResponse without being closed.

    http.client reads a response from `sock.makefile()` and closes that file when done;
    with pipelining the next answers may already sit in the buffer, so every response
    reads from the same buffer and closing it is left to the connection.
    """

    def __init__(self, reader: io.BufferedReader) -> None:
        self._reader = reader

    def makefile(self, mode: str) -> io.BufferedReader:
        """What HTTPResponse reads from (it believes this is a socket; `mode` is "rb")."""
        del mode
        return _Unclosable(self._reader)  # type: ignore[return-value]


class _Unclosable:
    """A file whose `close` does nothing (the connection owns the buffer)."""

    def __init__(self, reader: io.BufferedReader) -> None:
        self._reader = reader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def close(self) -> None:
        """Leave the shared buffer open."""


class PipelinedClient:
    """POSTs bodies to one URL over one keep-alive connection, a window at a time."""

    def __init__(self, url: str, key: str, ca_cert: str, insecure: bool, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OutputError(f"{key} {url!r}: expected http(s)://host[:port][/path]")
        self.url = url
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._tls = client_context(ca_cert, insecure) if parts.scheme == "https" else None
        self._timeout = timeout
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]
        self._head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
        self._sock: socket.socket | None = None
        self._reader: io.BufferedReader | None = None

    def _connect(self) -> tuple[socket.socket, io.BufferedReader]:
        if self._sock is None or self._reader is None:
            sock = socket.create_connection((self._host, self._port), timeout=self._timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._host)
            self._sock, self._reader = sock, sock.makefile("rb")
        return self._sock, self._reader

    def _request(self, body: bytes, headers: str) -> bytes:
        return f"{self._head}{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body

    def post_each(self, bodies: list[bytes], headers: dict[str, str]) -> None:
        """POST every body in order; DeliveryError says how many were acknowledged first."""
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        done = 0
        while done < len(bodies):
            window = bodies[done : done + WINDOW]
            try:
                sock, reader = self._connect()
                sock.sendall(b"".join(self._request(b, lines) for b in window))
                for _ in window:
                    closing = self._answer(reader, done)
                    done += 1
                    if closing:  # the server ends the connection: resend the rest on a new one
                        self.reset()
                        break
            except (OSError, http.client.HTTPException, ssl.SSLError) as e:
                self.reset()
                raise DeliveryError(f"POST {self.url}: {e!r}", done) from e

    def _answer(self, reader: io.BufferedReader, done: int) -> bool:
        """Read one answer; True when the server closes the connection after it."""
        response = http.client.HTTPResponse(_SharedReader(reader))  # type: ignore[arg-type]
        response.begin()
        answer = response.read()
        if not 200 <= response.status < 300:
            self.reset()
            text = answer[:200].decode(errors="replace").replace("\n", " ")
            raise DeliveryError(f"POST {self.url}: {response.status} {text}", done)
        return bool(response.will_close)

    def reset(self) -> None:
        """Drop the connection; the next post opens a new one."""
        if self._reader is not None:
            self._reader.close()
        if self._sock is not None:
            self._sock.close()
        self._sock, self._reader = None, None
