"""Connections from the kernel's connection tracking table (/proc/net/nf_conntrack).

The host's table holds what its netfilter saw: containers' connections leaving through
the host (north-south, NATed) and, where bridged traffic is filtered, between containers.
Each entry's original direction says who opened it. Parsing is pure; `read_conntrack`
is the one read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from stockade.firewall.flows import GROUP, Connection, inbound, outbound, peer

CONNTRACK = Path("/proc/net/nf_conntrack")


@dataclass(frozen=True, slots=True)
class Tracked:
    """One tracked connection in its original direction: who opened it to whom."""

    protocol: str
    src: str
    sport: int
    dst: str
    dport: int

    @property
    def key(self) -> tuple[str, str, int, str, int]:
        """The opener's socket key (as `firewall.sockets.Socket.key` in its table)."""
        return (self.protocol, self.src, self.sport, self.dst, self.dport)


def parse_conntrack(text: str) -> list[Tracked]:
    """TCP and UDP entries of an nf_conntrack listing, original direction only."""
    found: list[Tracked] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 6 or fields[2] not in ("tcp", "udp"):
            continue
        values: dict[str, str] = {}
        for item in fields[3:]:
            name, sep, value = item.partition("=")
            if sep and name not in values:  # the first of each is the original direction
                values[name] = value
        try:
            tracked = Tracked(fields[2], values["src"], int(values["sport"]), values["dst"],
                              int(values["dport"]))  # fmt: skip
        except (KeyError, ValueError):
            continue
        found.append(tracked)
    return found


def read_conntrack(path: Path = CONNTRACK) -> list[Tracked]:
    """The host's tracked connections; [] where the table cannot be read."""
    try:
        return parse_conntrack(path.read_text())
    except OSError:
        return []


def tracked_connections(
    entries: Iterable[Tracked], groups_by_address: Mapping[str, str], ts: int = 0
) -> list[Connection]:
    """Connections of known containers: those they opened, and those opened to them from
    outside every known container; entries of no container are no flow of theirs."""
    found: list[Connection] = []
    for t in entries:
        src = peer(t.src, groups_by_address)
        if src is not None and src[0] == GROUP:
            c = outbound(src[1], t.dst, t.dport, t.protocol, groups_by_address, ts)
        else:
            dst = peer(t.dst, groups_by_address)
            if dst is None or dst[0] != GROUP:
                continue
            c = inbound(dst[1], t.src, t.dport, t.protocol, groups_by_address, ts)
        if c is not None:
            found.append(c)
    return found
