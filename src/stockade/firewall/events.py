"""Connections from the sensor's connect and accept events (pure: an event in, a connection out).

The eBPF sensor reports each socket's ends on connect and accept (Falco's fd.cip, fd.sip;
`FdInfo.sip` is the client, `dip` the server, whichever end is local). A connect is an
outbound connection to the server end; an accept an inbound one from the client end.
These are seen the moment they happen, where a socket table read every few seconds may
miss a short connection.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping

from stockade.firewall.flows import Connection, inbound, outbound
from stockade.model.events import Event
from stockade.profiles.groups import group_id

CONNECTION_EVENTS = frozenset({"connect", "accept", "accept4"})
_INET = ("ipv4", "ipv6")
SocketKey = tuple[str, str, int, str, int]  # as firewall.sockets.Socket.key


def from_a_container(event: Event) -> bool:
    """Whether an event may make a connection: a container's inet connect or accept (the
    host's own, often thousands a second on a busy host, are not the firewall's)."""
    fd = event.fd
    return (
        event.type in CONNECTION_EVENTS
        and fd is not None
        and fd.type in _INET
        and not event.container.is_host
    )


def connection_of(
    event: Event, groups_by_address: Mapping[str, str]
) -> tuple[Connection, SocketKey] | None:
    """The connection an event made or took, with its socket's key in the local table."""
    fd = event.fd
    if event.type not in CONNECTION_EVENTS or fd is None or event.container.is_host:
        return None
    if fd.type not in _INET or fd.l4proto not in ("tcp", "udp"):
        return None
    if event.res < 0 and event.res != -errno.EINPROGRESS:
        return None  # a failed connect or accept made no connection
    group = group_id(event.container)
    if event.type == "connect":
        found = outbound(group, fd.dip, fd.dport, fd.l4proto, groups_by_address, event.ts)
        key = (fd.l4proto, fd.sip, fd.sport, fd.dip, fd.dport)
    else:
        found = inbound(group, fd.sip, fd.dport, fd.l4proto, groups_by_address, event.ts)
        key = (fd.l4proto, fd.dip, fd.dport, fd.sip, fd.sport)
    return (found, key) if found is not None else None
