"""Which I/O calls the kernel drops: per event kind, the descriptor classes no rule matches.

A content rule on network sockets need not see every file write of the host. The rules
say which descriptor kinds (fd.typechar values) each event type must be on
(`EventSource.set_fd_kinds`); the I/O programs (c/io.bpf.h `io_drop`, `IOF_*`) classify
the call's descriptor on entry and drop the classes none of those kinds can come from,
before any record is built.
"""

from __future__ import annotations

from collections.abc import Mapping

from stockade.model import EventType as T
from stockade.sensor.bpf.kinds import KIND_IDS

IO_FILTERED: frozenset[T] = frozenset(
    {T.READ, T.WRITE, T.PREAD, T.PWRITE, T.READV, T.WRITEV, T.PREADV, T.PWRITEV, T.SENDTO,
     T.SENDMSG, T.RECVFROM, T.RECVMSG, T.SENDMMSG, T.RECVMMSG, T.DUP, T.DUP2, T.DUP3}
)  # fmt: skip
"""The event types whose programs filter on the descriptor's class (SYSCALL_IO, SYSCALL_DUP:
a dup on its old fd, whose class the new one shares)."""

# c/io.bpf.h IOF_*: the descriptor classes the I/O programs tell apart
IOF_INET, IOF_SOCK, IOF_PIPE, IOF_FILE, IOF_DIR, IOF_OTHER = 1, 2, 4, 8, 16, 32
# each class and the fd.typechar values the decoder (argspec_io.fd_info) can give a
# descriptor of it; IOF_OTHER (no fd, anonymous inodes) gets none today.
_CLASSES: tuple[tuple[int, frozenset[str]], ...] = (
    (IOF_INET, frozenset("46")),
    (IOF_SOCK, frozenset("un")),
    (IOF_PIPE, frozenset("p")),
    (IOF_FILE, frozenset("fm")),
    (IOF_DIR, frozenset("d")),
)
_NAMED = frozenset().union(*(chars for _, chars in _CLASSES))


def dropped_classes(kinds: frozenset[str]) -> int:
    """The IOF_* bits of the classes no descriptor of `kinds` (fd.typechar) belongs to."""
    bits = 0 if kinds - _NAMED else IOF_OTHER  # a kind we cannot place: keep the rest
    for bit, chars in _CLASSES:
        if not chars & kinds:
            bits |= bit
    return bits


def io_drop_entries(fd_kinds: Mapping[str, frozenset[str]]) -> dict[int, int]:
    """Kind id -> dropped classes, for the filtered I/O types among `fd_kinds`'s keys."""
    return {
        KIND_IDS[T(name)]: dropped_classes(kinds)
        for name, kinds in fd_kinds.items()
        if name in IO_FILTERED
    }
