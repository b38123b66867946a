"""The protect ruleset of one container as nftables JSON (pure).

Once a group is protected, each of its containers gets one table in its own network
namespace: both directions drop by default; loopback, DNS to the configured resolvers
and every allow rule naming the group are accepted.

Only a connection's first packet is looked up. Every chain first accepts any TCP packet
that is not a SYN without ACK (replies, established traffic, RSTs): a TCP connection opens
only with that SYN, which pays one lookup on the sender's output and one on the receiver's
input, so deny by default holds for TCP. This is safe because a host's TCP stack accepts a
non-SYN segment only for a socket that exists: an established connection, or one whose SYN
it sent (which was checked); anything else is answered by a RST. Two edge cases remain: a
SYN-cookie ACK (only while a listener's queue has overflowed) opens a connection, but its
cookie is a keyed hash that only the SYN-ACK to a checked SYN reveals, so a peer never
allowed can only guess it blindly; and a process with CAP_NET_RAW (not among podman's
default capabilities) can send hand-made non-SYN segments anywhere: they open nothing
but carry their payload to whoever captures them. UDP and other protocols have no first
packet: each of their packets is looked up.

An opening (or a UDP packet) is accepted by one lookup of (peer address, protocol, port)
in a hash set per chain and address family, of fixed size (the kernel's plain hash, not
its resizable one); allowed CIDRs sit in interval sets of (network, protocol, port). Only
non-empty sets are looked up. (A verdict map keyed on the address alone, jumping to a
chain of port checks per peer, measured dearer per opening.)

The table is stateless: no `ct` expression, so connection tracking stays off in the
container's namespace (it cost a new connection about half its setup time). A packet is
accepted when it goes to (or comes from) an allowed peer's port, or is the reply to
such a packet: any TCP packet but an opening, and for UDP a packet from a peer's allowed
port (the peer's side of an outbound exchange) or from one of ours (our side of an
inbound one), so a peer's allowed UDP port may also reach other local ports. ICMP errors
(unreachable, too big, time exceeded) and IPv6 neighbour discovery pass either way.
The commands replace the table whole in one transaction, so re-applying is idempotent.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stockade.firewall.allowlist import AllowRule
from stockade.firewall.flows import GROUP
from stockade.respond.nftables import FAMILY, address_expr

TABLE = "stockade_firewall"
PRIORITY = 0  # after isolation (-300): an isolated container stays cut off whatever this allows
JsonObj = dict[str, Any]
Triple = tuple[str, str, int]  # peer address or CIDR, protocol, port
_ADDRESS_TYPES = {"ip": "ipv4_addr", "ip6": "ipv6_addr"}
_PEER_FIELD = {"input": "saddr", "output": "daddr"}
_HOOKS = ("input", "output")
# the chain whose allowed peers a reply in this chain answers
_OPPOSITE = {"input": "output", "output": "input"}


def _rule(chain: str, *expr: JsonObj, verdict: str = "accept") -> JsonObj:
    """A rule: its matches, then its verdict."""
    rule = {"family": FAMILY, "table": TABLE, "chain": chain, "expr": [*expr, {verdict: None}]}
    return {"add": {"rule": rule}}


def _iface(key: str) -> JsonObj:
    return {"match": {"op": "==", "left": {"meta": {"key": key}}, "right": "lo"}}


_TCP_FLAGS = {"payload": {"protocol": "tcp", "field": "flags"}}
_SYN_ONLY = {"&": [_TCP_FLAGS, ["syn", "ack"]]}
# any TCP packet but a connection's first (SYN without ACK): accepted before any lookup
_TCP_NOT_OPENING = {"match": {"op": "!=", "left": _SYN_ONLY, "right": "syn"}}
# past the first rule a TCP packet is an opening, never a reply
_TCP = {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}}
_ICMP_TYPES = {
    "icmp": ["destination-unreachable", "time-exceeded", "parameter-problem"],
    "icmpv6": [
        "destination-unreachable", "packet-too-big", "time-exceeded", "parameter-problem",
        "nd-neighbor-solicit", "nd-neighbor-advert",
    ],
}  # fmt: skip


def _icmp(protocol: str) -> JsonObj:
    field = {"payload": {"protocol": protocol, "field": "type"}}
    return {"match": {"op": "==", "left": field, "right": {"set": _ICMP_TYPES[protocol]}}}


def set_name(chain: str, family: str) -> str:
    """The interval set of allowed (CIDR, protocol, port) of one chain and address family."""
    return f"{chain}_{family}_net"


def peers_name(chain: str, family: str) -> str:
    """The hash set of allowed (peer address, protocol, port) of one chain and address family."""
    return f"{chain}_{family}_peers"


def _lookup(chain: str, named: str, family: str, *, reply: bool = False) -> JsonObj:
    """`ip daddr . meta l4proto . th dport @output_ip_net` (saddr for input).

    As a reply (`reply`): a packet of a connection the other chain allows, flowing back:
    its source port is that connection's allowed port.
    """
    port = "sport" if reply else "dport"
    key = [
        {"payload": {"protocol": family, "field": _PEER_FIELD[chain]}},
        {"meta": {"key": "l4proto"}},
        {"payload": {"protocol": "th", "field": port}},
    ]
    return {"match": {"op": "==", "left": {"concat": key}, "right": f"@{named}"}}


def _peers(kind: str, value: str, addresses: Mapping[str, Sequence[str]]) -> Sequence[str]:
    return addresses.get(value, ()) if kind == GROUP else (value,)


def allowed_triples(
    group: str,
    rules: Iterable[AllowRule],
    addresses: Mapping[str, Sequence[str]],
    resolvers: Sequence[str] = (),
) -> dict[str, set[Triple]]:
    """Per chain, the (peer address or CIDR, protocol, port) a container of `group` allows."""
    found: dict[str, set[Triple]] = {"input": set(), "output": set()}
    found["output"] |= {(r, p, 53) for r in resolvers for p in ("udp", "tcp")}
    for rule in rules:
        if rule.src_kind == GROUP and rule.src == group:
            peers = _peers(rule.dst_kind, rule.dst, addresses)
            found["output"] |= {(a, rule.protocol, rule.port) for a in peers}
        if rule.dst_kind == GROUP and rule.dst == group:
            peers = _peers(rule.src_kind, rule.src, addresses)
            found["input"] |= {(a, rule.protocol, rule.port) for a in peers}
    return found


def _split(triples: Iterable[Triple], family: str) -> tuple[list[Triple], list[Triple]]:
    """One family's triples: (exact peers, CIDRs), the peers in the address's own spelling."""
    version = 4 if family == "ip" else 6
    exact: list[Triple] = []
    networks: list[Triple] = []
    for peer, protocol, port in sorted(triples):
        net = ipaddress.ip_network(peer, strict=False)
        if net.version == version and net.num_addresses > 1:
            networks.append((peer, protocol, port))
        elif net.version == version:
            exact.append((str(net.network_address), protocol, port))
    return exact, networks


def _set_command(name: str, family: str, triples: list[Triple], *, interval: bool) -> JsonObj:
    """A set of (peer, protocol, port): CIDRs in an interval set, addresses in a hash set
    of fixed size (the kernel's plain hash, not its resizable one)."""
    found: JsonObj = {
        "family": FAMILY, "table": TABLE, "name": name,
        "type": [_ADDRESS_TYPES[family], "inet_proto", "inet_service"],
    }  # fmt: skip
    if interval:
        found["flags"] = ["interval"]
    else:
        found["size"] = max(1, len(triples))
    if triples:
        found["elem"] = [{"concat": [address_expr(a), p, n]} for a, p, n in triples]
    return {"add": {"set": found}}


Split = dict[tuple[str, str], tuple[list[Triple], list[Triple]]]  # (hook, family) -> split


def _not_tcp(triples: Iterable[Triple]) -> bool:
    """True when some triple is of another protocol than TCP (whose replies pass anyway)."""
    return any(protocol != "tcp" for _, protocol, _ in triples)


def _sets(hook: str, family: str, split: Split) -> tuple[tuple[str, list[Triple]], ...]:
    """A chain's two sets of one family, with their triples: exact peers, then CIDRs."""
    exact, networks = split[hook, family]
    return ((peers_name(hook, family), exact), (set_name(hook, family), networks))


def _chain_commands(hook: str, split: Split) -> list[JsonObj]:
    """One hook's chain: TCP but openings, allowed peers and CIDRs, loopback, non-TCP
    replies, ICMP.

    The first rule lets most packets through without a lookup; only non-empty sets are
    looked up (the table is rebuilt whenever one changes). The peers come before loopback
    so that a container's own connections pass after one lookup; loopback is matched by
    interface index, not by name. A reply is looked up in the other chain's sets, by its
    source port."""
    chain = {"family": FAMILY, "table": TABLE, "name": hook, "type": "filter", "hook": hook}
    commands = [{"add": {"chain": {**chain, "prio": PRIORITY, "policy": "drop"}}}]
    commands.append(_rule(hook, _TCP_NOT_OPENING))
    commands += [
        _rule(hook, _lookup(hook, name, family))
        for family in _ADDRESS_TYPES
        for name, triples in _sets(hook, family, split)
        if triples
    ]
    commands.append(_rule(hook, _iface("iif" if hook == "input" else "oif")))
    replies = [
        _rule(hook, _lookup(hook, name, family, reply=True))
        for family in _ADDRESS_TYPES
        for name, triples in _sets(_OPPOSITE[hook], family, split)
        if _not_tcp(triples)
    ]
    if replies:
        commands += [_rule(hook, _TCP, verdict="drop"), *replies]
    commands += [_rule(hook, _icmp(protocol)) for protocol in _ICMP_TYPES]
    return commands


def protect_commands(
    group: str,
    rules: Iterable[AllowRule],
    addresses: Mapping[str, Sequence[str]],
    resolvers: Sequence[str] = (),
) -> JsonObj:
    """nft JSON commands giving a container of `group` its protect table.

    `addresses` maps each group to its containers' addresses now; a rule naming a group
    with no running container allows nothing until one starts and this is rebuilt.
    """
    table = {"family": FAMILY, "name": TABLE}
    commands: list[JsonObj] = [{"add": {"table": table}}, {"delete": {"table": table}}]
    commands.append({"add": {"table": table}})
    triples = allowed_triples(group, rules, addresses, resolvers)
    split = {(h, f): _split(triples[h], f) for h in _HOOKS for f in _ADDRESS_TYPES}
    for hook in _HOOKS:
        for family in _ADDRESS_TYPES:
            commands += [
                _set_command(name, family, triples, interval=name == set_name(hook, family))
                for name, triples in _sets(hook, family, split)
            ]
    for hook in _HOOKS:
        commands += _chain_commands(hook, split)
    return {"nftables": commands}


def remove_commands() -> JsonObj:
    """nft JSON commands removing the protect table (and nothing else), present or not."""
    table = {"family": FAMILY, "name": TABLE}
    return {"nftables": [{"add": {"table": table}}, {"delete": {"table": table}}]}


def has_protection(ruleset: JsonObj) -> bool:
    """True when a ruleset listing holds the protect table."""
    return any(item.get("table", {}).get("name") == TABLE for item in ruleset.get("nftables", []))
