"""A syslog listener for tests: RFC 5424 over UDP, or TCP/TLS with octet counting, CEF parsed.

It keeps every message it parsed, in arrival order, and can be stopped (closing its
connections, as a receiver that goes down does) and started again on the same port.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from tests.support.polling import poll_until

RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<timestamp>\S+) (?P<hostname>\S+) (?P<app>\S+) (?P<procid>\S+) "
    r"(?P<msgid>\S+) (?P<sd>-|(?:\[[^\]]*\])+)(?: (?P<msg>.*))?",
    re.DOTALL,
)
READ_CHECK_S = 0.05  # how soon a reader notices `hold`
SO_RCVBUFFORCE = 33  # Linux's; Python's socket module does not name it
_CEF_FIELD = r"\|((?:[^|\\]|\\.)*)"  # up to an unescaped `|`
_CEF_HEADER = re.compile(r"(CEF:\d+)" + _CEF_FIELD * 6 + r"\|(.*)", re.DOTALL)
_CEF_KEY = re.compile(r"(?:^| )([A-Za-z0-9_.]+)=")
_CEF_UNESCAPE = {"\\": "\\", "=": "=", "n": "\n", "r": "\r", "|": "|"}


@dataclass(frozen=True)
class CefRecord:
    """An ArcSight CEF record: the seven header fields and the extension."""

    version: str
    vendor: str
    product: str
    product_version: str
    signature_id: str
    name: str
    severity: int
    extension: dict[str, str]


@dataclass(frozen=True)
class SyslogMessage:
    """One RFC 5424 message."""

    facility: int
    severity: int
    timestamp: str
    hostname: str
    app_name: str
    msgid: str
    msg: str
    cef: CefRecord | None = None


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return re.sub(r"\\(.)", lambda m: _CEF_UNESCAPE.get(m[1], "\\" + m[1]), text)


def parse_cef(text: str) -> CefRecord:
    """Parse `CEF:0|vendor|product|version|id|name|severity|ext`; ValueError when malformed."""
    match = _CEF_HEADER.fullmatch(text)
    if match is None:
        raise ValueError(f"not a CEF record: {text[:80]!r}")
    parts = [_unescape(part) for part in match.groups()[:7]]
    extension_text = match[8]
    if not parts[0].startswith("CEF:"):
        raise ValueError(f"no CEF: prefix: {text[:80]!r}")
    keys = list(_CEF_KEY.finditer(extension_text))
    extension = {}
    for n, key in enumerate(keys):
        end = keys[n + 1].start() if n + 1 < len(keys) else len(extension_text)
        extension[key[1]] = _unescape(extension_text[key.end() : end])
    return CefRecord(
        version=parts[0].removeprefix("CEF:"),
        vendor=parts[1],
        product=parts[2],
        product_version=parts[3],
        signature_id=parts[4],
        name=parts[5],
        severity=int(parts[6]),
        extension=extension,
    )


def parse_rfc5424(data: bytes) -> SyslogMessage:
    """Parse one RFC 5424 message (its MSG parsed as CEF when it is one)."""
    text = data.decode("utf-8")
    match = RFC5424.fullmatch(text)
    if match is None:
        raise ValueError(f"not RFC 5424: {text[:120]!r}")
    msg = (match["msg"] or "").removeprefix("\ufeff")
    pri = int(match["pri"])
    return SyslogMessage(
        facility=pri // 8,
        severity=pri % 8,
        timestamp=match["timestamp"],
        hostname=match["hostname"],
        app_name=match["app"],
        msgid=match["msgid"],
        msg=msg,
        cef=parse_cef(msg) if msg.startswith("CEF:") else None,
    )


def _readable(conn: socket.socket) -> bool:
    """Data to read within READ_CHECK_S (TLS: also what the TLS layer holds decrypted)."""
    if isinstance(conn, ssl.SSLSocket) and conn.pending():
        return True
    return bool(select.select([conn], [], [], READ_CHECK_S)[0])


@dataclass
class SyslogReceiver:
    """Listens on 127.0.0.1:`port` (0: any) by `protocol` (udp, tcp, tls)."""

    protocol: str
    port: int = 0
    cert: Path | None = None  # TLS: the server's certificate and key
    key: Path | None = None
    parse_every: int = 1  # parse one message in this many (a benchmark's receiver keeps up)
    rcvbuf: int = 0  # SO_RCVBUF of its connections (0: the kernel's, autotuned)
    messages: list[SyslogMessage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    frames: int = 0  # messages received, parsed or not

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._running = False
        self._reading = threading.Event()  # cleared by `hold`: data waits unread
        self._reading.set()
        self._readers = self._parked = 0  # connections read from, and those held

    def start(self) -> Self:
        """Bind (the same port on a restart) and serve from background threads."""
        kind = socket.SOCK_DGRAM if self.protocol == "udp" else socket.SOCK_STREAM
        listener = socket.socket(socket.AF_INET, kind)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if kind == socket.SOCK_DGRAM:  # bursts of datagrams wait here instead of being lost
            with contextlib.suppress(OSError):
                listener.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
        listener.bind(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        if kind == socket.SOCK_STREAM:
            if self.rcvbuf:  # inherited by the accepted connections
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
            listener.listen(16)
        self._reading.set()
        self._listener, self._running = listener, True
        target = self._serve_udp if self.protocol == "udp" else self._accept
        self._spawn(target)
        return self

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _record(self, data: bytes) -> None:
        self.frames += 1
        if self.frames % self.parse_every:
            return
        try:
            message = parse_rfc5424(data)
        except ValueError as e:
            self.errors.append(str(e))
            return
        with self._lock:
            self.messages.append(message)

    def _serve_udp(self) -> None:
        assert self._listener is not None
        while self._running:
            try:
                data = self._listener.recv(65536)
            except OSError:
                return
            if not self._running:  # woken by stop()
                return
            self._record(data)

    def _accept(self) -> None:
        assert self._listener is not None
        context = None
        if self.protocol == "tls":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.cert), str(self.key))
        while self._running:
            try:
                conn, _ = self._listener.accept()
                if context is not None:
                    conn = context.wrap_socket(conn, server_side=True)
            except OSError:
                if not self._running:
                    return
                continue
            self._conns.append(conn)
            self._spawn(self._read_frames, conn)

    def _read_frames(self, conn: socket.socket) -> None:
        with self._lock:
            self._readers += 1
        try:
            self._read_frames_until_closed(conn)
        finally:
            with self._lock:
                self._readers -= 1

    def _read_frames_until_closed(self, conn: socket.socket) -> None:
        """Octet-counted frames: `LEN SP MSG` (RFC 6587)."""
        buffer = b""
        while self._running:
            if not self._reading.is_set():
                self._park()
                continue
            try:
                if not _readable(conn):  # `hold` is seen within READ_CHECK_S
                    continue
                chunk = conn.recv(262144)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while True:
                space = buffer.find(b" ")
                if space < 0:
                    break
                length = int(buffer[:space])
                if len(buffer) < space + 1 + length:
                    break
                self._record(buffer[space + 1 : space + 1 + length])
                buffer = buffer[space + 1 + length :]

    def _park(self) -> None:
        with self._lock:
            self._parked += 1
        self._reading.wait()
        with self._lock:
            self._parked -= 1

    def hold(self) -> None:
        """Stop reading (returns once no connection reads any more): what arrives waits,
        acknowledged by the kernel, in the socket buffers."""
        self._reading.clear()
        poll_until(lambda: self._parked >= self._readers, 10, "every connection's reader held")

    def kill(self) -> None:
        """Die as a process holding unread data does: its kernel resets the connections
        and the unread data is gone."""
        self._running = False
        for conn in self._conns:
            conn.close()  # no shutdown: with data unread, the kernel answers with a reset
        self._conns.clear()
        self._reading.set()
        self.stop()

    def stop(self) -> None:
        """Close the listener and every connection (the receiver goes down)."""
        self._running = False
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self._conns.clear()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def received(self) -> list[SyslogMessage]:
        """The messages parsed so far, in order."""
        with self._lock:
            return list(self.messages)
