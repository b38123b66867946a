"""Sensor records laid out as c/record.h describes, for the decoder tests (no kernel)."""

from __future__ import annotations

import socket
import struct

from stockade.model import EventType
from stockade.sensor.bpf.kinds import KIND_IDS

IDENT = struct.Struct("<QQQQ10I16s")  # c/record.h: who acted
WHAT = struct.Struct("<Qq6QIH4H2x")  # what happened


def record(
    kind: EventType,
    *,
    res: int = 0,
    a: tuple[int, ...] = (0,) * 6,
    slots: tuple[bytes, ...] = (),
    flags: int = 0,
    uid: int = 0,
    pid: int = 42,
    tid: int = 43,
) -> bytes:
    """A record as the kernel writes it: header, then the slots back to back."""
    lens = [len(s) for s in slots] + [0] * (4 - len(slots))
    ident = IDENT.pack(
        77, 0x3, 0x7, 500, pid, tid, 1, uid, 0, uid, 0, 0xFFFFFFFF, 0, 5, b"cat\0".ljust(16, b"\0")
    )
    head = ident + WHAT.pack(1_000, res, *a, KIND_IDS[kind], flags, *lens)
    return head + b"".join(slots)


TUPLE = struct.Struct("<HHHHHH16s16s")
V4 = TUPLE.pack(2, 1, 6, 40000, 80, 0, socket.inet_aton("10.88.0.2"), socket.inet_aton("10.0.0.3"))
V6 = TUPLE.pack(
    10, 1, 0, 5000, 443, 0, socket.inet_pton(socket.AF_INET6, "fd00::2"),
    socket.inet_pton(socket.AF_INET6, "::1"),
)  # fmt: skip
UNIX = TUPLE.pack(1, 2, 0, 0, 0, 0, b"\0" * 16, b"\0" * 16)
SOCKADDR = struct.pack("<H", 2) + struct.pack("!H4s", 8080, socket.inet_aton("127.0.0.1"))

READER_CASES = [  # (id, kind, res, a, slots, flags) the decoder's own readers handle
    ("connect-v4", EventType.CONNECT, -115, (3, 0, 16, 0, 0, 0), (b"", V4), 4),
    ("connect-v6", EventType.CONNECT, 0, (7, 0, 28, 0, 0, 0), (b"", V6), 4),
    ("connect-unix", EventType.CONNECT, 0, (2**32 - 1, 0, 0, 0, 0, 0), (b"", UNIX), 4),
    ("connect-sockaddr", EventType.CONNECT, -111, (4, 0, 16, 0, 0, 0), (SOCKADDR,), 0),
    ("connect-nothing", EventType.CONNECT, -9, (4, 0, 0, 0, 0, 0), (), 0),
    ("accept4-v4", EventType.ACCEPT4, 5, (3, 0, 0, 0x80000, 0, 0), (b"", V4), 4),
    ("accept-v6", EventType.ACCEPT, 6, (3, 0, 0, 0, 0, 0), (b"", V6), 4),
    ("accept-failed", EventType.ACCEPT4, -11, (3, 0, 0, 0, 0, 0), (), 0),
    ("socket", EventType.SOCKET, 3, (2, 0x80001, 6, 0, 0, 0), (), 0),
    ("vfork", EventType.VFORK, 0, (0,) * 6, (), 0),
    ("clone", EventType.CLONE, 0, (0x11, 0, 0, 0, 0, 0), (), 0),
    ("clone3", EventType.CLONE3, 0, (0,) * 6, (), 0),
    ("fork", EventType.FORK, 0, (0,) * 6, (), 0),
    ("procexit-code", EventType.PROCEXIT, 0, (0x8B, 0, 0, 0, 0, 0), (), 0),
    ("procexit-signal", EventType.PROCEXIT, 0, (0, 0x0300, 0, 0, 0, 0), (), 0),
]
