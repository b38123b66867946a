"""A falcosidekick receiver fast enough for the output benchmark (what a Go server is).

`FalcosidekickReceiver` (http_receivers.py) parses each request with http.server, which
costs more per request than the output does to send it. This one frames every HTTP/1.1
request on its connection (request line, headers, Content-Length body), answers each in
order (pipelined requests included), and checks the path, the Content-Type and
falcosidekick's required fields on one request in `parse_every`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from typing import Self

from tests.support.http_receivers import falcosidekick_problem

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"


class FramingFalcosidekickReceiver:
    """falcosidekick's `/` endpoint on 127.0.0.1:`port` (0: any), framed by hand."""

    def __init__(self, port: int = 0, parse_every: int = 1) -> None:
        self.port = port
        self.parse_every = parse_every
        self.frames = 0  # requests accepted, checked or not
        self.errors: list[str] = []
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> Self:
        """Listen and serve from background threads."""
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._spawn(self._accept)
        return self

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while chunk := conn.recv(262144):
                buffer += chunk
                answers, buffer = self._requests(buffer)
                if answers:
                    conn.sendall(answers)

    def _requests(self, buffer: bytes) -> tuple[bytes, bytes]:
        """Answers to the complete requests at the start of `buffer`, and what is left."""
        answers = []
        while (end := buffer.find(b"\r\n\r\n")) >= 0:
            head = buffer[:end].decode("latin-1")
            lines = head.split("\r\n")
            fields = dict(line.lower().split(": ", 1) for line in lines[1:])
            length = int(fields.get("content-length", "0"))
            if len(buffer) < end + 4 + length:
                break
            body, buffer = buffer[end + 4 : end + 4 + length], buffer[end + 4 + length :]
            answers.append(self._check(lines[0], fields, body))
        return b"".join(answers), buffer

    def _check(self, request_line: str, fields: dict[str, str], body: bytes) -> bytes:
        self.frames += 1
        if self.frames % self.parse_every:
            return OK
        problem = None
        if not request_line.startswith("POST / "):
            problem = f"not a POST to /: {request_line}"
        elif not fields.get("content-type", "").startswith("application/json"):
            problem = "Content-Type is not application/json"
        else:
            try:
                problem = falcosidekick_problem(json.loads(body))
            except ValueError:
                problem = "Please send a valid request body"
        if problem is not None:
            self.errors.append(problem)
            return BAD
        return OK

    def stop(self) -> None:
        """Stop listening."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
