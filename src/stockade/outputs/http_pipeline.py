"""HTTP/1.1 pipelining on one keep-alive connection, for the one-alert-per-POST http output.

A window of requests is written at once, then their answers are read in order
(RFC 9112 section 9.3.2: a server answers pipelined requests in the order received),
parsed here by hand: http.client cannot share one read buffer between answers.
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
from typing import NamedTuple

from stockade.outputs.base import DeliveryError, OutputError
from stockade.outputs.tls import client_context

WINDOW = 64  # requests in flight before their answers are read
MAX_LINE = 65536  # longest status or header line accepted


class _Answer(NamedTuple):
    status: int
    body: bytes
    closing: bool  # the server closes the connection after this answer


def read_answer(reader: io.BufferedIOBase) -> _Answer:
    """One HTTP/1.1 answer from `reader` (Content-Length or chunked), leaving the next."""
    status_line = reader.readline(MAX_LINE)
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise http.client.BadStatusLine(repr(status_line[:100]))
    fields: dict[bytes, bytes] = {}
    while (line := reader.readline(MAX_LINE)) not in (b"\r\n", b"\n"):
        if not line:
            raise http.client.IncompleteRead(b"")
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    closing = fields.get(b"connection", b"").lower() == b"close" or parts[0] == b"HTTP/1.0"
    if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = _chunked(reader)
    elif b"content-length" in fields:
        body = _exactly(reader, int(fields[b"content-length"]))
    elif parts[1] in (b"204", b"304"):
        body = b""
    else:  # no length: the body runs to the end of the connection
        body, closing = reader.read(), True
    return _Answer(int(parts[1]), body, closing)


def _exactly(reader: io.BufferedIOBase, size: int) -> bytes:
    data = reader.read(size)
    if len(data) < size:
        raise http.client.IncompleteRead(data, size - len(data))
    return data


def _chunked(reader: io.BufferedIOBase) -> bytes:
    chunks = []
    while size := int(reader.readline(MAX_LINE).split(b";")[0], 16):
        chunks.append(_exactly(reader, size))
        reader.readline(MAX_LINE)
    while reader.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):  # trailer fields
        pass
    return b"".join(chunks)


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
        answer = read_answer(reader)
        if not 200 <= answer.status < 300:
            self.reset()
            text = answer.body[:200].decode(errors="replace").replace("\n", " ")
            raise DeliveryError(f"POST {self.url}: {answer.status} {text}", done)
        return answer.closing

    def reset(self) -> None:
        """Drop the connection; the next post opens a new one."""
        if self._reader is not None:
            self._reader.close()
        if self._sock is not None:
            self._sock.close()
        self._sock, self._reader = None, None
