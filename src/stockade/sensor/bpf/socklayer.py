"""Which I/O calls are reported from the socket layer instead of a syscall tracepoint pair.

When the rules on an I/O event type want sockets only (every other descriptor class is
dropped, `iofilter`), its calls are caught where the kernel sends or receives on a
socket (tracepoints sock_send_length / sock_recv_length, c/sensor.bpf.c `sock_call`):
the host's file and pipe I/O then runs no program, and a socket's call runs one program
instead of an enter and an exit. The records are the same; the call is told by its
number (map `sock_kinds`). A direction's program is attached only when a call that also
runs on files (write, writev, read, readv) is among its types: otherwise the socket
calls' own pairs, which run on those calls alone, are cheaper than a program on every
socket send (or receive) of the host. Kernels without those tracepoints, and
architectures whose registers the programs do not read, keep the syscall pairs.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from pathlib import Path

from stockade.model import EventType as T
from stockade.sensor.bpf.iofilter import IOF_DIR, IOF_FILE, IOF_INET, IOF_OTHER, IOF_PIPE, IOF_SOCK
from stockade.sensor.bpf.kinds import KIND_IDS, syscall_name
from stockade.sensor.bpf.syscalls import syscall_table

SOCKET_LAYER: dict[T, str] = {
    T.WRITE: "on_sock_send",
    T.WRITEV: "on_sock_send",
    T.SENDTO: "on_sock_send",
    T.SENDMSG: "on_sock_send",
    T.READ: "on_sock_recv",
    T.READV: "on_sock_recv",
    T.RECVFROM: "on_sock_recv",
    T.RECVMSG: "on_sock_recv",
}
"""The event types that can come from the socket layer, and the program that reports them."""

NOT_SOCKETS = IOF_PIPE | IOF_FILE | IOF_DIR | IOF_OTHER
_TRACEPOINTS = ("sock/sock_send_length", "sock/sock_recv_length")
_MACHINES = frozenset({"x86_64", "aarch64"})  # c/sensor.bpf.c syscall_args


def supported(events_dir: Path | None, machine: str | None = None) -> bool:
    """Whether this kernel has the socket tracepoints and the programs read its registers."""
    if (machine or platform.machine()) not in _MACHINES or events_dir is None:
        return False
    return all((events_dir / tracepoint).is_dir() for tracepoint in _TRACEPOINTS)


FILE_CALLS: frozenset[T] = frozenset({T.WRITE, T.WRITEV, T.READ, T.READV})
"""The calls that run on files and pipes too: what a socket-layer program is worth its cost for."""


def socket_layer_types(event_types: Iterable[T], io_drop: Mapping[int, int]) -> frozenset[T]:
    """The types among `event_types` whose rules want sockets only (from `io_drop`) and
    whose direction's program is worth attaching.

    A socket-layer program runs on every send (or receive) of the host, a redis reply
    too. That pays off when it spares the host's file and pipe I/O a syscall pair
    (write, writev, read, readv); sendto, sendmsg, recvfrom and recvmsg are socket calls
    anyway, so without one of those their own pairs run on those calls alone.
    """
    wanted = {
        t
        for t in event_types
        if t in SOCKET_LAYER and io_drop.get(KIND_IDS[t], 0) & NOT_SOCKETS == NOT_SOCKETS
    }
    worth = {SOCKET_LAYER[t] for t in wanted & FILE_CALLS}
    return frozenset(t for t in wanted if SOCKET_LAYER[t] in worth)


SOCKET_LAYER_SLOT = 0  # c/io.bpf.h IO_DROP_SOCKET_LAYER: io_drop's slot that no kind uses


def common_drop(types: Iterable[T], io_drop: Mapping[int, int]) -> dict[int, int]:
    """io_drop's socket-layer slot: the classes every one of `types` drops, so that a send or
    receive on such a socket (a unix socket's, when the rules want IP ones) is let go before
    the program asks who calls or which call it is. Empty without socket-layer types."""
    drops = [io_drop.get(KIND_IDS[t], 0) for t in types]
    if not drops:
        return {}
    common = NOT_SOCKETS | IOF_INET | IOF_SOCK
    for dropped in drops:
        common &= dropped
    return {SOCKET_LAYER_SLOT: common}


def sock_kinds(types: Iterable[T]) -> dict[int, int]:
    """Syscall number -> kind id for the socket-layer types (map `sock_kinds`)."""
    numbers = {name: nr for nr, name in syscall_table().items()}
    return {numbers[name]: KIND_IDS[t] for t in types if (name := syscall_name(t)) in numbers}
