"""Syslog output: RFC 5424 messages carrying CEF, over UDP, TCP or TLS (RFC 5425/6587).

TCP and TLS frame each message by octet counting (`LEN SP MSG`) and count a message as
delivered once the receiver's TCP acknowledged it (`tcp_ack.py`, which says what that
cannot cover); UDP sends one datagram per message and cannot know whether it arrived
(its queue empties as fast as it sends).
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import struct
from collections.abc import Iterator

import stockade
from stockade.model import Alert, Priority
from stockade.outputs.base import OUTPUTS, DeliveryError, OutputContext, OutputError, require
from stockade.outputs.delivery import QueuedOutput
from stockade.outputs.falco_format import message
from stockade.outputs.settings import SyslogOutput
from stockade.outputs.tcp_ack import AckTracker
from stockade.outputs.tls import client_context

PROTOCOLS = ("udp", "tcp", "tls")
CHUNK_BYTES = 16 << 10  # one write, and one acknowledgement check, per this much
ABORT_LINGER = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close with a reset
# Falco priority -> CEF severity (0-10)
CEF_SEVERITY = {
    Priority.EMERGENCY: 10,
    Priority.ALERT: 10,
    Priority.CRITICAL: 9,
    Priority.ERROR: 7,
    Priority.WARNING: 5,
    Priority.NOTICE: 3,
    Priority.INFORMATIONAL: 1,
    Priority.DEBUG: 0,
}
# CEF extension key -> the Falco output field it is taken from, and its label if custom
CEF_FIELDS: dict[str, tuple[str, str | None]] = {
    "sproc": ("proc.name", None),
    "suser": ("user.name", None),
    "spid": ("proc.pid", None),
    "filePath": ("fd.name", None),
    "cs2": ("container.name", "containerName"),
    "cs3": ("container.image.repository", "image"),
}
FIXED_LABELS = "cs1Label=containerId cs4Label=tags"


# CEF's escapes, applied in one pass (str.translate) on the hot path
_HEADER_ESCAPES = str.maketrans({"\\": "\\\\", "|": "\\|", "\n": " ", "\r": " "})
_EXT_ESCAPES = str.maketrans({"\\": "\\\\", "=": "\\=", "\n": "\\n", "\r": "\\r"})


def _header_escape(value: str) -> str:
    return value.translate(_HEADER_ESCAPES)


def _ext_escape(value: object) -> str:
    return (value if isinstance(value, str) else str(value)).translate(_EXT_ESCAPES)


_PRIORITIES = {p.falco_name: p for p in Priority}  # the spelling alerts carry, parsed once
_CEF_PREFIX = f"CEF:0|Stockade|Stockade|{_header_escape(stockade.__version__)}|"


def _priority(alert: Alert) -> Priority:
    found = _PRIORITIES.get(alert.priority)
    if found is not None:
        return found
    try:
        return Priority.parse(alert.priority)
    except ValueError:
        return Priority.WARNING


def cef(alert: Alert, priority: Priority | None = None) -> str:
    """The alert as an ArcSight CEF:0 record."""
    severity = CEF_SEVERITY[priority if priority is not None else _priority(alert)]
    rule = _header_escape(alert.rule)
    ext = [
        f"rt={_ext_escape(alert.time)}",
        f"dvchost={_ext_escape(alert.hostname)}",
        f"externalId={_ext_escape(alert.uuid)}",
        f"msg={_ext_escape(message(alert))}",
        f"cat={_ext_escape(alert.source)}",
        f"cs1={_ext_escape(alert.container_id)}",
        f"cs4={_ext_escape(','.join(alert.tags))}",
        f"cnt={alert.count}",
    ]
    labels = [FIXED_LABELS]
    for key, (field, label) in CEF_FIELDS.items():
        value = alert.output_fields.get(field)
        if value is not None:
            ext.append(f"{key}={_ext_escape(value)}")
            if label:
                labels.append(f"{key}Label={label}")
    return f"{_CEF_PREFIX}{rule}|{rule}|{severity}|{' '.join(ext)} {' '.join(labels)}"


def _header_field(value: str, limit: int) -> str:
    """An RFC 5424 header field: printable ASCII without spaces, or `-` when empty."""
    if not (value.isascii() and value.isprintable() and " " not in value):
        value = "".join(c for c in value if 33 <= ord(c) <= 126)
    return value[:limit] or "-"


def rfc5424(alert: Alert, facility: int, app_name: str) -> bytes:
    """The alert as one RFC 5424 message whose MSG is its CEF record (UTF-8, with BOM)."""
    priority = _priority(alert)
    pri = facility * 8 + min(int(priority), 7)  # Falco's order is syslog's severity
    header = (
        f"<{pri}>1 {_header_field(alert.time, 64)} {_header_field(alert.hostname, 255)} "
        f"{_header_field(app_name, 48)} - {_header_field(alert.source, 32)} -"  # PROCID, SD: -
    )
    return f"{header} \ufeff{cef(alert, priority)}".encode()


def octet_frame(body: bytes) -> bytes:
    """RFC 6587 octet counting: `LEN SP MSG`."""
    return b"%d %s" % (len(body), body)


class SyslogTransport:
    """Sends syslog messages over one UDP socket or one TCP/TLS connection.

    UDP cannot know what arrived. Over TCP and TLS a message is confirmed only once the
    receiver's kernel acknowledged its bytes (`tcp_ack.AckTracker`), and after a failure
    the last `resend_bytes` acknowledged are sent again first: a receiver process that
    died with that much unread loses nothing, those messages arriving twice. A receiver
    that dies with more unread than that loses the rest: syslog has no application
    acknowledgement (RELP would be needed).
    """

    def __init__(self, settings: SyslogOutput) -> None:
        if settings.protocol not in PROTOCOLS:
            choices = ", ".join(PROTOCOLS)
            raise OutputError(f"syslog_output.protocol {settings.protocol!r}: choose {choices}")
        if settings.resend_bytes < 0:
            raise OutputError(f"syslog_output.resend_bytes {settings.resend_bytes}: must be >= 0")
        self._settings = settings
        tls = settings.protocol == "tls"
        self._tls = client_context(settings.ca_cert, settings.insecure) if tls else None
        self._acks = AckTracker(settings.resend_bytes, settings.timeout)
        self._sock: socket.socket | None = None
        self._where = f"syslog {settings.protocol} {settings.host}:{settings.port}"

    def _connect(self) -> socket.socket:
        address = (self._settings.host, self._settings.port)
        if self._settings.protocol == "udp":
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.connect(address)
            return sock
        sock = socket.create_connection(address, timeout=self._settings.timeout)
        if self._tls is not None:
            sock = self._tls.wrap_socket(sock, server_hostname=self._settings.host)
        if replay := self._acks.replay():  # acknowledged before a failure, maybe never read
            sock.sendall(replay)
            self._acks.wrote(sock, replay, 0)
        return sock

    def _open(self) -> socket.socket:
        if self._sock is not None and self._settings.protocol != "udp":
            self._check_peer(self._sock)
        if self._sock is None:
            self._sock = self._connect()
        return self._sock

    def _check_peer(self, sock: socket.socket) -> None:
        """Reconnect when the receiver ended the connection; fail if alerts were unconfirmed."""
        closed = _peer_closed(sock)
        if closed is None:
            return
        self._acks.settle(sock)
        if closed == "reset" or self._acks.waiting():
            delivered = self._acks.broken(sock)  # the tail may have been unread: resent first
            self._drop(abort=True)
            raise DeliveryError(f"{self._where}: the receiver {closed} the connection", delivered)
        self._acks.closed_cleanly()  # it read everything before closing
        self._drop()

    def send(self, bodies: list[bytes]) -> None:
        """Send the messages in order (one write per batch on TCP and TLS)."""
        try:
            sock = self._open()
            if self._settings.protocol == "udp":
                for sent, body in enumerate(bodies):
                    try:
                        sock.send(body)
                    except OSError as e:
                        raise DeliveryError(f"syslog udp: {e}", sent) from e
                return
            for count, data in _chunks(bodies):
                sock.sendall(data)
                self._acks.wrote(sock, data, count)
        except OSError as e:  # ssl.SSLError is an OSError
            delivered = self._acks.broken(self._sock)
            self._drop(abort=True)
            raise DeliveryError(f"{self._where}: {e}", delivered) from e

    def pending(self) -> int:
        """Messages sent and not yet acknowledged by the receiver's TCP (none over UDP)."""
        if self._sock is None or self._settings.protocol == "udp":
            return 0
        try:
            return self._acks.pending(self._sock)
        except DeliveryError as e:
            raise DeliveryError(f"{self._where}: {e}", e.delivered) from e

    def reset(self) -> None:
        """Forget the connection (its acknowledged tail is resent on the next one)."""
        self._acks.broken(self._sock)
        self._drop(abort=True)

    def _drop(self, abort: bool = False) -> None:
        """Close the connection; `abort`: with a reset, so that what it still holds unsent
        is not delivered behind the resend on the next connection."""
        if self._sock is not None:
            if abort and self._settings.protocol != "udp":
                with contextlib.suppress(OSError):
                    self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, ABORT_LINGER)
            self._sock.close()
            self._sock = None

    def close(self) -> None:
        """Close the connection."""
        self._drop()


def _chunks(bodies: list[bytes]) -> Iterator[tuple[int, bytes]]:
    """The framed messages in writes of about CHUNK_BYTES: (messages, data) each, so that
    acknowledgements confirm part of a batch as it arrives."""
    frames: list[bytes] = []
    size = 0
    for body in bodies:
        frames.append(octet_frame(body))
        size += len(frames[-1])
        if size >= CHUNK_BYTES:
            yield len(frames), b"".join(frames)
            frames, size = [], 0
    if frames:
        yield len(frames), b"".join(frames)


def _peer_closed(sock: socket.socket) -> str | None:
    """How the receiver ended the connection ("closed", "reset"), or None while it is open."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return None
    if not isinstance(sock, ssl.SSLSocket):
        try:
            return "closed" if sock.recv(1, socket.MSG_PEEK) == b"" else None
        except OSError:
            return "reset"
    previous = sock.gettimeout()
    sock.setblocking(False)  # TLS 1.3 session tickets also make the socket readable
    try:
        return "closed" if sock.recv(1) == b"" else None
    except ssl.SSLWantReadError:
        return None
    except OSError:
        return "reset"
    finally:
        sock.settimeout(previous)


def syslog_output(context: OutputContext) -> QueuedOutput | None:
    """The syslog output when `syslog_output.enabled`."""
    settings = context.settings.syslog_output
    if not settings.enabled:
        return None
    require(settings.host, "syslog_output.host")
    facility, app = settings.facility, settings.app_name
    if not 0 <= facility <= 23:
        raise OutputError(f"syslog_output.facility {facility}: choose 0 to 23")
    return QueuedOutput(
        "syslog",
        context,
        lambda alert: rfc5424(alert, facility, app),
        SyslogTransport(settings),
    )


OUTPUTS.register("syslog", syslog_output)
