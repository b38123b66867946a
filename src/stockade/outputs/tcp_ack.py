"""Delivery confirmed by TCP itself, for syslog over TCP and TLS (which have no answer).

"Written to the socket" says nothing: the bytes may sit in our send buffer when the
connection dies. Linux says how far the receiver's kernel acknowledged the stream
(TCP_INFO `tcpi_bytes_acked`); after each write the tracker notes the stream offset where
it ended (bytes acknowledged plus SIOCOUTQ, the bytes not yet acknowledged, read until
both agree), and the write's messages count as delivered once the acknowledged count
reaches that offset. Checked once per batch, never per message. Bytes acknowledged
nothing for `stall_timeout` seconds (a receiver host or the path to it is gone) or a
connection reset make `pending` fail: the queue sends every unconfirmed message again.

What TCP cannot tell: whether the receiver's *process* read the bytes its kernel
acknowledged. A receiver process that dies with unread data (its kernel then answers with
a reset) or a receiver host that dies loses them. As a mitigation, the tracker keeps the
last `resend_bytes` of acknowledged data of the connection in memory and, after any
failure, writes them again first on the next connection: nothing is lost when the
receiver held no more than that unread, and those messages may arrive twice (in order).
More unread than that, or a Stockade restart at the same moment, can still lose some:
only an application acknowledgement (RELP) closes that case.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
import struct
import termios
import time
from collections import deque
from dataclasses import dataclass

from stockade.outputs.base import DeliveryError

TCP_CLOSE = 7  # the kernel's state after a reset: nothing more will be acknowledged
_INFO_LENGTH = 128  # struct tcp_info up to tcpi_bytes_acked (Linux 4.1)
_BYTES_ACKED = struct.Struct("=Q")
_BYTES_ACKED_AT = 120
_READS = 1000  # attempts at an unmoving read of the stream offset


def _acked(sock: socket.socket) -> tuple[int, int]:
    """The connection's TCP state and the bytes the receiver's kernel acknowledged."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _INFO_LENGTH)
    if len(info) < _INFO_LENGTH:
        raise DeliveryError("this kernel's TCP_INFO has no tcpi_bytes_acked (Linux 4.1+)")
    return info[0], _BYTES_ACKED.unpack_from(info, _BYTES_ACKED_AT)[0]


def _unacknowledged(sock: socket.socket) -> int:
    """SIOCOUTQ: bytes written and not yet acknowledged."""
    answer = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    return int(struct.unpack("i", answer)[0])


def stream_end(sock: socket.socket) -> int:
    """The stream offset (in `tcpi_bytes_acked`'s count) of everything written so far."""
    for _ in range(_READS):  # an acknowledgement between the two reads would overcount
        _, before = _acked(sock)
        waiting = _unacknowledged(sock)
        _, after = _acked(sock)
        if before == after:
            return before + waiting
    raise DeliveryError("cannot read a steady TCP stream offset")


@dataclass
class _Write:
    end: int  # stream offset where the write ended
    count: int  # queued messages it carried (0: a resend of acknowledged ones)
    data: bytes


class AckTracker:
    """The writes on one connection not yet acknowledged, and the tail resent after failures."""

    def __init__(self, resend_bytes: int, stall_timeout: float) -> None:
        self._resend_bytes = resend_bytes
        self._stall_timeout = stall_timeout
        self._writes: deque[_Write] = deque()
        self._waiting = 0  # messages in `_writes`
        self._unreported = 0  # messages acknowledged since `pending` last answered
        self._tail: deque[bytes] = deque()  # acknowledged data, newest last
        self._tail_size = 0
        self._replay = b""  # what the next connection writes first
        self._acked = 0
        self._progress_at = 0.0

    def replay(self) -> bytes:
        """What a new connection must write before any queued message."""
        return self._replay

    def wrote(self, sock: socket.socket, data: bytes, count: int) -> None:
        """`data`, carrying `count` queued messages, was written whole to `sock`."""
        if not self._writes:
            self._progress_at = time.monotonic()
        if count == 0:  # the replay: it is tracked like any write from now on
            self._replay = b""
        self._writes.append(_Write(stream_end(sock), count, data))
        self._waiting += count

    def pending(self, sock: socket.socket) -> int:
        """Messages written and not acknowledged; DeliveryError when they never will be."""
        state = self.settle(sock)
        waiting = self._waiting
        if self._writes and state == TCP_CLOSE:
            why = f"connection reset with {waiting} alerts unacknowledged"
            raise DeliveryError(why, self._unreported)
        if self._writes and time.monotonic() - self._progress_at > self._stall_timeout:
            why = f"receiver acknowledged nothing for {self._stall_timeout:g} s"
            raise DeliveryError(f"{why} ({waiting} alerts waiting)", self._unreported)
        self._unreported = 0
        return waiting

    def settle(self, sock: socket.socket) -> int:
        """Move the acknowledged writes to the tail; the connection's TCP state."""
        state, acked = _acked(sock)
        if acked != self._acked:
            self._acked, self._progress_at = acked, time.monotonic()
        while self._writes and self._writes[0].end <= acked:
            done = self._writes.popleft()
            self._waiting -= done.count
            self._unreported += done.count
            self._keep(done.data)
        return state

    def _keep(self, data: bytes) -> None:
        self._tail.append(data)
        self._tail_size += len(data)
        # whole writes only (a cut frame would garble the stream): at most one write over
        while self._tail and self._tail_size - len(self._tail[0]) >= self._resend_bytes:
            self._tail_size -= len(self._tail.popleft())

    def broken(self, sock: socket.socket | None) -> int:
        """The connection failed: queue the tail for resending; messages acknowledged last."""
        if sock is not None:
            with contextlib.suppress(OSError, DeliveryError):  # a socket closed already
                self.settle(sock)
        resent = [w.data for w in self._writes if w.count == 0]  # replays never acknowledged
        self._replay += b"".join([*self._tail, *resent])
        delivered = self._unreported
        self._clear()
        return delivered

    def waiting(self) -> int:
        """Queued messages written and not yet acknowledged (as of the last settle)."""
        return self._waiting

    def closed_cleanly(self) -> None:
        """The receiver ended the connection having read all it had (nothing is waiting)."""
        self._replay += b"".join(w.data for w in self._writes)
        self._clear()

    def _clear(self) -> None:
        self._writes.clear()
        self._tail.clear()
        self._waiting = self._unreported = self._tail_size = self._acked = 0
