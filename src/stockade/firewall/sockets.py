"""A network namespace's socket table, read through a process in it (/proc/PID/net/tcp...).

This catches connections that began before the agent did: the table lists every socket
of the namespace, established, closing (TIME_WAIT) or listening. Parsing is pure; only
`read_sockets` touches /proc.

Reading a TCP table walks the host's whole connection hash, whatever the namespace holds
(~3.5 ms per read on a 24 GiB host, for an empty table): a namespace's socket counts
(`net/sockstat`, `net/sockstat6`, ~25 µs) say first which tables can have a row at all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from stockade.firewall.flows import Connection, inbound, outbound

EPHEMERAL_PORTS = range(32768, 61000)  # Linux's default ip_local_port_range
TCP_LISTEN = 0x0A
TCP_CLOSE = 0x07
_TABLES = (("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp"))
# Per table, the sockstat counts of sockets it lists (TIME_WAIT ones are counted for TCP
# over both families: either table may hold them).
_COUNTED_IN = {
    "tcp": (("TCP", "inuse"), ("TCP", "tw")),
    "tcp6": (("TCP6", "inuse"), ("TCP", "tw")),
    "udp": (("UDP", "inuse"),),
    "udp6": (("UDP6", "inuse"),),
}


@dataclass(frozen=True, slots=True)
class Socket:
    """One row of a socket table: its ends, its TCP state and its protocol."""

    protocol: str  # tcp | udp
    local: str
    local_port: int
    remote: str
    remote_port: int
    state: int

    @property
    def key(self) -> tuple[str, str, int, str, int]:
        """The socket's identity within its namespace."""
        return (self.protocol, self.local, self.local_port, self.remote, self.remote_port)


def _address(hex_text: str) -> tuple[str, int]:
    """An address:port as the kernel prints it (host-order 32-bit words, hex port)."""
    addr_hex, port_hex = hex_text.split(":")
    raw = bytes.fromhex(addr_hex)
    # Each 32-bit word is printed in host (little-endian here) byte order.
    packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(packed)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped), int(port_hex, 16)
    return str(ip), int(port_hex, 16)


def parse_table(text: str, protocol: str) -> list[Socket]:
    """The sockets of one /proc/net table (its header line skipped)."""
    sockets: list[Socket] = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4:
            continue
        local, local_port = _address(fields[1])
        remote, remote_port = _address(fields[2])
        sockets.append(Socket(protocol, local, local_port, remote, remote_port, int(fields[3], 16)))
    return sockets


def listeners(sockets: Iterable[Socket]) -> set[tuple[str, int]]:
    """The (protocol, port) pairs the table listens on."""
    return {(s.protocol, s.local_port) for s in sockets if s.state == TCP_LISTEN}


def parse_sockstat(text: str) -> dict[tuple[str, str], int]:
    """A namespace's socket counts (/proc/net/sockstat, sockstat6) by (protocol, counter)."""
    counts: dict[tuple[str, str], int] = {}
    for line in text.splitlines():
        protocol, _, rest = line.partition(":")
        fields = rest.split()
        for name, value in zip(fields[::2], fields[1::2], strict=False):
            if value.isdigit():
                counts[protocol, name] = int(value)
    return counts


def tables_in_use(counts: dict[tuple[str, str], int]) -> list[str]:
    """The tables that may hold a row, by the namespace's counts (all when a count is
    missing: the table is read rather than guessed empty)."""
    return [
        name
        for name, _ in _TABLES
        if any(counts.get(counter, 1) > 0 for counter in _COUNTED_IN[name])
    ]


def read_sockets(pid: int, proc: Path = Path("/proc")) -> list[Socket]:
    """Every socket of the network namespace process `pid` is in; [] if it is gone."""
    net = proc / str(pid) / "net"
    counts: dict[tuple[str, str], int] = {}
    for name in ("sockstat", "sockstat6"):
        try:
            counts.update(parse_sockstat((net / name).read_text()))
        except OSError:
            continue
    wanted = tables_in_use(counts)
    found: list[Socket] = []
    for name, protocol in _TABLES:
        if name not in wanted:
            continue
        try:
            text = (net / name).read_text()
        except OSError:
            continue
        found += parse_table(text, protocol)
    return found


def connections(
    group: str,
    sockets: Iterable[Socket],
    groups_by_address: Mapping[str, str],
    ts: int = 0,
    listening: Iterable[tuple[str, int]] = (),
) -> list[Connection]:
    """The group's connections in a socket table: outbound ones, and inbound from outside.

    A socket on a port the namespace listens on (now, or in `listening`: seen before, as
    a server that re-opens its listener per client is not always listening) was accepted,
    and so was one from a fixed port to a peer's ephemeral port; any other connected socket
    was opened from here. Unconnected UDP sockets and listeners are no connection.
    """
    rows = list(sockets)
    listening = {*listening, *((s.protocol, s.local_port) for s in rows if s.state == TCP_LISTEN)}
    found: list[Connection] = []
    for s in rows:
        if s.state in (TCP_LISTEN, TCP_CLOSE) or s.remote_port == 0:
            continue
        accepted = s.local_port not in EPHEMERAL_PORTS and s.remote_port in EPHEMERAL_PORTS
        if (s.protocol, s.local_port) in listening or accepted:
            c = inbound(group, s.remote, s.local_port, s.protocol, groups_by_address, ts)
        else:
            c = outbound(group, s.remote, s.remote_port, s.protocol, groups_by_address, ts)
        if c is not None:
            found.append(c)
    return found
