"""A network namespace's socket table, read through a process in it (/proc/PID/net/tcp...).

This catches connections that began before the agent did: the table lists every socket
of the namespace, established, closing (TIME_WAIT) or listening. Parsing is pure; only
`read_sockets` touches /proc.
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


def read_sockets(pid: int, proc: Path = Path("/proc")) -> list[Socket]:
    """Every socket of the network namespace process `pid` is in; [] if it is gone."""
    found: list[Socket] = []
    for name, protocol in _TABLES:
        try:
            text = (proc / str(pid) / "net" / name).read_text()
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
