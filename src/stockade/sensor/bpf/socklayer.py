"""Which I/O calls are reported from the socket layer instead of a syscall tracepoint pair.

When the rules on an I/O event type want sockets only (every other descriptor class is
dropped, `iofilter`), its calls are caught where the kernel sends or receives on a
socket (tracepoints sock_send_length / sock_recv_length, c/sensor.bpf.c `sock_call`):
the host's file and pipe I/O then runs no program, and a socket's call runs one program
instead of an enter and an exit. The records are the same; the call is told by its
number (map `sock_kinds`). Kernels without those tracepoints, and architectures whose
registers the programs do not read, keep the syscall pairs.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from pathlib import Path

from stockade.model import EventType as T
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

NOT_SOCKETS = 4 | 8 | 16 | 32  # c/io.bpf.h IOF_PIPE | IOF_FILE | IOF_DIR | IOF_OTHER
_TRACEPOINTS = ("sock/sock_send_length", "sock/sock_recv_length")
_MACHINES = frozenset({"x86_64", "aarch64"})  # c/sensor.bpf.c syscall_args


def supported(events_dir: Path | None, machine: str | None = None) -> bool:
    """Whether this kernel has the socket tracepoints and the programs read its registers."""
    if (machine or platform.machine()) not in _MACHINES or events_dir is None:
        return False
    return all((events_dir / tracepoint).is_dir() for tracepoint in _TRACEPOINTS)


def socket_layer_types(event_types: Iterable[T], io_drop: Mapping[int, int]) -> frozenset[T]:
    """The types among `event_types` whose rules want sockets only (from `io_drop`)."""
    return frozenset(
        t
        for t in event_types
        if t in SOCKET_LAYER and io_drop.get(KIND_IDS[t], 0) & NOT_SOCKETS == NOT_SOCKETS
    )


def sock_kinds(types: Iterable[T]) -> dict[int, int]:
    """Syscall number -> kind id for the socket-layer types (map `sock_kinds`)."""
    numbers = {name: nr for nr, name in syscall_table().items()}
    return {numbers[name]: KIND_IDS[t] for t in types if (name := syscall_name(t)) in numbers}
