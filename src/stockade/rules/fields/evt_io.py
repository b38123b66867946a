"""evt.* fields about I/O, waiting and errors: evt.is_io*, evt.io_dir, evt.is_wait,
evt.is_syslog, evt.buflen and evt.count.*; which calls read, write or wait is by type,
as Falco's event flags say."""

from __future__ import annotations

from stockade.model import Event
from stockade.rules.fields.base import Extractor, FieldTable, FieldType, simple

READ_TYPES = frozenset(
    {"read", "pread", "pread64", "readv", "preadv", "preadv2", "recv", "recvfrom", "recvmsg"}
    | {"recvmmsg"}
)
WRITE_TYPES = frozenset(
    {"write", "pwrite", "pwrite64", "writev", "pwritev", "pwritev2", "send", "sendto"}
    | {"sendmsg", "sendmmsg", "sendfile"}
)
WAIT_TYPES = frozenset(
    {"nanosleep", "clock_nanosleep", "select", "pselect6", "poll", "ppoll", "epoll_wait"}
    | {"epoll_pwait", "epoll_pwait2", "futex", "wait4", "waitid", "pause", "semop"}
)
MEMORY_TYPES = frozenset(
    {"brk", "mmap", "mmap2", "munmap", "mprotect", "mremap", "madvise", "mlock", "munlock"}
    | {"mlockall", "munlockall", "mlock2", "userfaultfd"}
)
_FILE_FDS = frozenset({"file", "directory"})
_NET_FDS = frozenset({"ipv4", "ipv6", "unix"})
_OPEN_LIKE = frozenset({"open", "openat", "openat2", "open_by_handle_at", "creat"})
_NET_CALLS = frozenset({"accept", "accept4", "connect"})


def _is_io(e: Event) -> bool:
    return e.type in READ_TYPES or e.type in WRITE_TYPES


def _io_dir(e: Event) -> str | None:
    if e.type in READ_TYPES:
        return "r"
    return "w" if e.type in WRITE_TYPES else None


def _is_syslog(e: Event) -> bool:
    return e.type in WRITE_TYPES and e.fd is not None and "/dev/log" in e.fd.name


def _buflen(e: Event) -> int | None:
    """The bytes an I/O call moved (its return value), as Falco counts them."""
    return e.res if e.fd is not None and _is_io(e) and e.res >= 0 else None


def error_kind(e: Event) -> str:
    """file, net, memory or other: what a failed call is counted as (evt.count.error.*)."""
    if e.fd is not None:
        if e.fd.type in _FILE_FDS:
            return "file"
        return "net" if e.fd.type in _NET_FDS else "other"
    if e.type in _OPEN_LIKE:
        return "file"
    if e.type in _NET_CALLS:
        return "net"
    return "memory" if e.type in MEMORY_TYPES else "other"


def _error_count(kind: str | None) -> Extractor:
    def extract(e: Event) -> int | None:
        if kind is not None and error_kind(e) != kind:
            return None
        return 1 if e.res < 0 else 0

    return extract


def register(t: FieldTable) -> None:
    """Add the I/O, wait and error-count evt.* fields to `t`."""
    B, U32 = FieldType.BOOL, FieldType.UINT64
    simple(t, "evt.is_io", B, "reads or writes a descriptor", _is_io)
    simple(t, "evt.is_io_read", B, "reads a descriptor", lambda e: e.type in READ_TYPES)
    simple(t, "evt.is_io_write", B, "writes a descriptor", lambda e: e.type in WRITE_TYPES)
    simple(t, "evt.io_dir", FieldType.STRING, "r for reads, w for writes", _io_dir)
    simple(t, "evt.is_wait", B, "makes the thread wait", lambda e: e.type in WAIT_TYPES)
    simple(t, "evt.is_syslog", B, "a write to /dev/log", _is_syslog)
    simple(t, "evt.buflen", FieldType.UINT64, "bytes an I/O call moved", _buflen)
    simple(t, "evt.count.error", U32, "1 when the call failed", _error_count(None))
    for kind in ("file", "net", "memory", "other"):
        simple(
            t,
            f"evt.count.error.{kind}",
            U32,
            f"1 when a {kind} call failed",
            _error_count(kind),
        )
    simple(t, "evt.count.exit", U32, "1: Stockade's events are completed calls", lambda _e: 1)
