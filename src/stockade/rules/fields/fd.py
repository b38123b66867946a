"""fd.* fields: the file or socket an event acted on (Event.fd, an FdInfo).

Sockets: FdInfo.sip/sport are the client side (who connected), dip/dport the server
side, as in Falco's tuple `cip:cport->sip:sport`; `is_server` says which side is local
(Falco's server role: set by accept and bind, and by the sensor for every later call on
a socket accept returned, so fd.lip/lport are then the listening side).
"""

from __future__ import annotations

import functools
import socket
from operator import attrgetter
from typing import Any

from stockade.model import Event, FdInfo
from stockade.rules.dns import DNS_NAMES
from stockade.rules.fields.base import (
    INLINE_HELPERS,
    ArgKind,
    Extractor,
    FieldDef,
    FieldTable,
    FieldType,
    on_fd,
    simple,
)

TYPECHARS = {
    "file": "f",
    "directory": "d",
    "ipv4": "4",
    "ipv6": "6",
    "unix": "u",
    "pipe": "p",
    "event": "e",
    "signalfd": "s",
    "eventpoll": "l",
    "inotify": "i",
    "timerfd": "t",
    "netlink": "n",
    "bpf": "b",
    "userfaultfd": "u",
    "io_uring": "r",
    "memfd": "m",
    "pidfd": "P",
}
_FILE_TYPES = frozenset({"file", "directory", "memfd"})
_IP_TYPES = frozenset({"ipv4", "ipv6"})


def _fd(fn: Any) -> Extractor:
    def extract(e: Event) -> Any:
        fd = e.fd
        return None if fd is None else fn(fd)

    return extract


def _ip_fd(fn: Any) -> Extractor:
    def extract(e: Event) -> Any:
        fd = e.fd
        return None if fd is None or fd.type not in _IP_TYPES else fn(fd)

    return extract


def _directory(fd: FdInfo) -> str | None:
    """posixpath.dirname of a file's path, without its generality (this runs per event)."""
    if fd.type == "directory":
        return fd.name
    if fd.type not in _FILE_TYPES or not fd.name:
        return None
    head = fd.name.rpartition("/")[0]
    if head.endswith("/"):
        head = head.rstrip("/") or "/"
    return head or ("/" if fd.name.startswith("/") else "")


def _filename(fd: FdInfo) -> str | None:
    return fd.name.rpartition("/")[2] if fd.type in _FILE_TYPES and fd.name else None


def _ip_inline(expr: str) -> str:
    return f"(({expr}) if e.fd is not None and e.fd.type in _IP_TYPES else None)"


def _side(server: str, client: str) -> str:
    return f"e.fd.{server} if e.fd.is_server else e.fd.{client}"


def _inline(attr: str) -> str:
    return f"(e.fd.{attr} if e.fd is not None else None)"


# fd.*.name field -> (FdInfo attribute when the local side is the server, else)
_NAMED_ENDS = {
    "fd.cip.name": ("sip", "sip"),
    "fd.sip.name": ("dip", "dip"),
    "fd.lip.name": ("dip", "sip"),
    "fd.rip.name": ("sip", "dip"),
}


def _dns_match(field: str, names: tuple[str, ...], e: Event) -> bool:
    """`field = name` (or `in`) as Falco compares it: the address of that end of the
    socket is one of the named hosts' addresses (rules.dns)."""
    fd = e.fd
    if fd is None or fd.type not in _IP_TYPES:
        return False
    if_server, if_client = _NAMED_ENDS[field]
    attr = if_server if fd.is_server else if_client
    if attr == "dip" and fd.sip_name and fd.sip_name in names:
        return True
    return DNS_NAMES.matches(names, getattr(fd, attr))


INLINE_HELPERS.update(
    {
        "_dns_match": _dns_match,
        "_TYPECHARS": TYPECHARS,
        "_fd_directory": _directory,
        "_fd_filename": _filename,
        "_IP_TYPES": _IP_TYPES,
        "_FILE_TYPES": _FILE_TYPES,
    }
)


def _name_of(if_server: str, if_client: str) -> Any:
    """The name of one end's address: FdInfo.`if_server` when the local side is the
    server, else `if_client`; a name the sensor saw for the server (FdInfo.sip_name) first,
    else the watched name resolving to it (Falco's DNS manager: rules.dns)."""

    def of(fd: FdInfo) -> str | None:
        attr = if_server if fd.is_server else if_client
        if attr == "dip" and fd.sip_name:
            return fd.sip_name
        return DNS_NAMES.name_of(getattr(fd, attr))

    return of


_EINPROGRESS = 115


def _name_changed(e: Event) -> bool | None:
    """Whether the event changed the name of an fd that existed before it, as Falco's
    parser sees it: a connect (the socket takes its peer's tuple; also while it is in
    progress) and datagram I/O naming its peer on an unconnected socket (the sensor sets
    FdInfo.name_changed). An event creating its fd (open, socket, accept) names a new fd.
    """
    fd = e.fd
    if fd is None:
        return None
    if e.type == "connect":
        return e.res in (0, -_EINPROGRESS)
    return fd.name_changed


def _types(arg: str | None) -> Extractor:
    if arg is None:
        return lambda e: () if e.fd is None else (e.fd.type,)

    def extract(e: Event) -> Any:
        return (e.fd.type,) if e.fd is not None and str(e.fd.num) == arg else ()

    return extract


def register(t: FieldTable) -> None:
    """Add the fd.* fields to `t`."""
    S, INT, B = FieldType.STRING, FieldType.INT64, FieldType.BOOL
    simple(t, "fd.num", INT, "descriptor number (FdInfo.num)", on_fd("num"), inline=_inline("num"))
    simple(
        t,
        "fd.type",
        S,
        "file, directory, ipv4, ipv6, unix, pipe ... (FdInfo.type)",
        on_fd("type"),
        inline=_inline("type"),
    )
    simple(
        t,
        "fd.typechar",
        S,
        "type as one character",
        _fd(lambda fd: TYPECHARS.get(fd.type, "o")),
        inline="(_TYPECHARS.get(e.fd.type, 'o') if e.fd is not None else None)",
    )
    simple(
        t,
        "fd.name",
        S,
        "path, or cip:cport->sip:sport (FdInfo.name)",
        on_fd("name"),
        inline=_inline("name"),
    )
    simple(
        t,
        "fd.nameraw",
        S,
        "a file's path as the call gave it (FdInfo.nameraw), else FdInfo.name",
        _fd(lambda fd: fd.nameraw or fd.name),
        inline="((e.fd.nameraw or e.fd.name) if e.fd is not None else None)",
    )
    simple(
        t,
        "fd.directory",
        S,
        "directory of a file",
        _fd(_directory),
        inline="(_fd_directory(e.fd) if e.fd is not None else None)",
    )
    simple(
        t,
        "fd.filename",
        S,
        "file name without directory",
        _fd(_filename),
        inline=(
            "(e.fd.name.rpartition('/')[2] if e.fd is not None and e.fd.name"
            " and e.fd.type in _FILE_TYPES else None)"
        ),
    )
    simple(
        t,
        "fd.l4proto",
        S,
        "tcp, udp, raw, icmp (FdInfo.l4proto)",
        on_fd("l4proto"),
        inline=_inline("l4proto"),
    )
    simple(
        t,
        "fd.sockfamily",
        S,
        "ip or unix",
        _fd(lambda fd: "ip" if fd.type in _IP_TYPES else "unix" if fd.type == "unix" else None),
    )
    simple(t, "fd.is_server", B, "local side is the server (FdInfo.is_server)", on_fd("is_server"))
    # a datagram whose peer the call named travels on an unconnected socket (Falco's
    # outbound macro: sendto with fd.connected=false and fd.name_changed=true)
    simple(t, "fd.connected", B, "socket connected",
           _ip_fd(lambda fd: bool(fd.dip) and not fd.name_changed))  # fmt: skip
    simple(t, "fd.name_changed", B, "the event renamed the fd it used", _name_changed)
    _register_endpoints(t)
    for field, (if_server, if_client) in _NAMED_ENDS.items():
        end = field.split(".")[1]
        desc = f"the watched name resolving to {end} (rules.dns)"
        simple(t, field, S, desc, _ip_fd(_name_of(if_server, if_client)))
    simple(t, "fd.ino", INT, "inode (FdInfo.ino)", _fd(lambda fd: fd.ino or None))
    simple(t, "fd.dev", INT, "device (FdInfo.dev)", _fd(lambda fd: None if fd.dev < 0 else fd.dev))
    simple(t, "fd.dev.major", INT, "device major", _fd(lambda fd: _dev(fd, major=True)))
    simple(t, "fd.dev.minor", INT, "device minor", _fd(lambda fd: _dev(fd, major=False)))
    _register_protocols(t)
    simple(
        t,
        "fd.uid",
        S,
        "fd number and thread id",
        lambda e: None if e.fd is None else f"{e.fd.num}{e.proc.tid or e.proc.pid}",
    )
    t.add(
        FieldDef(
            "fd.types",
            FieldType.LIST,
            "types of the fd (or of fd [N])",
            _types,
            ArgKind.OPTIONAL_INDEX,
        )
    )
    simple(
        t,
        "fd.containername",
        S,
        "container id and fd name",
        lambda e: None if e.fd is None else f"{e.container.short_id}:{e.fd.name}",
    )
    simple(
        t,
        "fd.containerdirectory",
        S,
        "container id and directory",
        lambda e: None if e.fd is None else f"{e.container.short_id}:{_directory(e.fd)}",
    )
    simple(t, "fd.is_upper_layer", B, "file on an overlayfs upper layer", _layer("upper"))
    simple(t, "fd.is_lower_layer", B, "file on an overlayfs lower layer", _layer("lower"))


# (suffix, type, what, client attribute, server attribute, local/remote inlined)
_ENDPOINTS = (
    ("ip", FieldType.IPADDR, "IP", "sip", "dip", True),
    ("port", FieldType.PORT, "port", "sport", "dport", True),
    ("net", FieldType.IPNET, "IP, for CIDR checks", "sip", "dip", False),
)


def _layer(which: str) -> Extractor:
    """Whether the event's file is on that overlayfs layer (None where the sensor cannot tell)."""
    return _fd(lambda fd: fd.layer == which if fd.layer else None)


def _dev(fd: FdInfo, *, major: bool) -> int | None:
    """Major or minor of the kernel's device number (major << 20 | minor)."""
    if fd.dev < 0:
        return None
    return fd.dev >> 20 if major else fd.dev & 0xFFFFF


@functools.lru_cache(maxsize=1024)
def port_name(port: int, l4proto: str) -> str:
    """The service name of a port (/etc/services, as Falco resolves it), else the number."""
    try:
        return socket.getservbyport(port, l4proto or "tcp")
    except (OSError, OverflowError):
        return str(port)


def _proto(near: str, far: str | None) -> Any:
    """The service name of one end's port: `near`, or by role when `far` is given."""

    def of(fd: FdInfo) -> str:
        attr = near if far is None or fd.is_server else far
        return port_name(getattr(fd, attr), fd.l4proto)

    return of


def _register_protocols(t: FieldTable) -> None:
    """fd.cproto/sproto/lproto/rproto (service names) and fd.proto (either port)."""
    S = FieldType.STRING
    for prefix, side, near, far in (
        ("c", "client", "sport", None),
        ("s", "server", "dport", None),
        ("l", "local", "dport", "sport"),
        ("r", "remote", "sport", "dport"),
    ):
        simple(t, f"fd.{prefix}proto", S, f"{side} protocol (service name of its port)",
               _ip_fd(_proto(near, far)))  # fmt: skip
    either = _ip_fd(_endpoint_pair(attrgetter("sport"), attrgetter("dport")))
    t.add(FieldDef("fd.proto", FieldType.PORT, "client or server port", _fixed(either), multi=True))


def _register_endpoints(t: FieldTable) -> None:
    """fd.c*/s*/l*/r* (client, server, local, remote) and fd.* (either side) of sockets."""
    for suffix, ftype, what, client, server, inline_sides in _ENDPOINTS:
        get_client, get_server = attrgetter(client), attrgetter(server)
        for prefix, side, attr in (("c", "client", client), ("s", "server", server)):
            simple(
                t,
                f"fd.{prefix}{suffix}",
                ftype,
                f"{side} {what} (FdInfo.{attr})",
                _ip_fd(attrgetter(attr)),
                inline=_ip_inline(f"e.fd.{attr}"),
            )
        for prefix, side, local in (("l", "local", True), ("r", "remote", False)):
            near, far = (server, client) if local else (client, server)
            simple(
                t,
                f"fd.{prefix}{suffix}",
                ftype,
                f"{side} {what}",
                _ip_fd(_endpoint_side(attrgetter(near), attrgetter(far))),
                inline=_ip_inline(_side(near, far)) if inline_sides else "",
            )
        both = _ip_fd(_endpoint_pair(get_client, get_server))
        t.add(FieldDef(f"fd.{suffix}", ftype, f"client or server {what}", _fixed(both), multi=True))


def _endpoint_pair(client: Any, server: Any) -> Any:
    """(client(fd), server(fd)): both ends of a socket."""
    return lambda fd: (client(fd), server(fd))


def _fixed(extractor: Extractor) -> Any:
    """A field factory that ignores its (absent) argument."""
    return lambda _arg: extractor


def _endpoint_side(if_server: Any, if_client: Any) -> Any:
    """`if_server(fd)` when the local side is the server, else `if_client(fd)`."""
    return lambda fd: if_server(fd) if fd.is_server else if_client(fd)
