"""Connections seen between containers, aggregated as group -> group (or address) flows.

A connection is one observation: who opened it (a workload group), whom it reached (a
group, or an address outside every known container) on which port and protocol. Flows
count the observations of one (source, destination, port, protocol) with when they were
first and last seen. Everything here is pure: callers bring the observations.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

import msgspec

EXTERNAL = "external"  # a destination outside every known container
GROUP = "group"
FlowKey = tuple[str, str, str, str, int, str]


class Connection(msgspec.Struct, frozen=True, kw_only=True):
    """One connection: source group -> destination (group id or address) : port / protocol."""

    src: str  # the source group's id, or the address when src_kind is external
    dst: str  # the destination group's id, or the address when dst_kind is external
    src_kind: str = GROUP  # group | external
    dst_kind: str = GROUP
    port: int
    protocol: str = "tcp"  # tcp | udp
    ts: int = 0  # ns since epoch

    @property
    def key(self) -> FlowKey:
        """What makes two connections the same flow."""
        return (self.src_kind, self.src, self.dst_kind, self.dst, self.port, self.protocol)


class Flow(msgspec.Struct, frozen=True, kw_only=True):
    """Connections of one source, destination, port and protocol: how many, first and last."""

    src: str
    dst: str
    src_kind: str = GROUP
    dst_kind: str = GROUP
    port: int
    protocol: str
    count: int
    first_ns: int
    last_ns: int

    @property
    def key(self) -> FlowKey:
        """The flow's identity (see `Connection.key`)."""
        return (self.src_kind, self.src, self.dst_kind, self.dst, self.port, self.protocol)


def aggregate(connections: Iterable[Connection]) -> list[Flow]:
    """Flows of the connections, one per key, sorted by key."""
    flows: dict[FlowKey, Flow] = {}
    for c in connections:
        seen = flows.get(c.key)
        if seen is None:
            flows[c.key] = Flow(
                src=c.src, dst=c.dst, src_kind=c.src_kind, dst_kind=c.dst_kind, port=c.port,
                protocol=c.protocol, count=1, first_ns=c.ts, last_ns=c.ts,
            )  # fmt: skip
        else:
            flows[c.key] = msgspec.structs.replace(
                seen,
                count=seen.count + 1,
                first_ns=min(seen.first_ns, c.ts),
                last_ns=max(seen.last_ns, c.ts),
            )
    return [flows[key] for key in sorted(flows)]


def merge(old: Iterable[Flow], new: Iterable[Flow]) -> list[Flow]:
    """Two sets of flows as one: counts added, first and last widened."""
    merged = {f.key: f for f in old}
    for f in new:
        seen = merged.get(f.key)
        merged[f.key] = (
            f
            if seen is None
            else msgspec.structs.replace(
                seen,
                count=seen.count + f.count,
                first_ns=min(seen.first_ns, f.first_ns),
                last_ns=max(seen.last_ns, f.last_ns),
            )
        )
    return [merged[key] for key in sorted(merged)]


def peer(address: str, groups_by_address: Mapping[str, str]) -> tuple[str, str] | None:
    """(kind, id) of an address: its container's group, else the address as external.

    None for loopback and unspecified addresses: that is the container itself, not a flow.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip.is_loopback or ip.is_unspecified:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        address = str(ip.ipv4_mapped)
    group = groups_by_address.get(address)
    return (GROUP, group) if group is not None else (EXTERNAL, address)


def outbound(
    group: str,
    remote: str,
    port: int,
    protocol: str,
    groups_by_address: Mapping[str, str],
    ts: int = 0,
) -> Connection | None:
    """A connection the group opened to `remote`:`port`; None when the remote is local."""
    found = peer(remote, groups_by_address)
    if found is None:
        return None
    kind, dst = found
    return Connection(src=group, dst=dst, dst_kind=kind, port=port, protocol=protocol, ts=ts)


def inbound(
    group: str,
    remote: str,
    port: int,
    protocol: str,
    groups_by_address: Mapping[str, str],
    ts: int = 0,
) -> Connection | None:
    """A connection `remote` opened to the group's `port`; None when local or a container.

    A remote that is a known container is left to that container's own outbound
    observation (its side sees the same connection), so it is never counted twice.
    """
    found = peer(remote, groups_by_address)
    if found is None or found[0] == GROUP:
        return None
    return Connection(
        src=found[1], src_kind=EXTERNAL, dst=group, port=port, protocol=protocol, ts=ts
    )


class FlowReport(msgspec.Struct, frozen=True, kw_only=True):
    """What an agent sends: flows since its last report, which of them broke the rules,
    and the groups still learning (their flows become learned allow rules)."""

    flows: list[Flow]
    violations: list[bool] = msgspec.field(default_factory=list)  # per flow; [] = none
    learning: list[str] = msgspec.field(default_factory=list)
