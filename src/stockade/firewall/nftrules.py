"""The protect ruleset of one container as nftables JSON (pure).

Once a group is protected, each of its containers gets one table in its own network
namespace: both directions drop by default; loopback, DNS to the configured resolvers
and every allow rule naming the group are accepted. The allowed (peer, protocol, port)
triples sit in sets (one per direction and address family), so a packet costs one set
lookup however many groups the rules name.

The table is stateless: no `ct` expression, so connection tracking stays off in the
container's namespace (it cost a new connection about half its setup time). A packet is
accepted when it goes to (or comes from) an allowed peer's port, or is the reply to
such a packet: it comes from a peer's allowed port (the peer's side of an outbound
connection) or goes from one of ours (our side of an inbound one). A TCP packet opening
a connection (SYN without ACK) is never taken as a reply, so only the allowed side can
open one; for UDP a peer's allowed port may also reach other local ports. ICMP errors
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
_ADDRESS_TYPES = {"ip": "ipv4_addr", "ip6": "ipv6_addr"}
_PEER_FIELD = {"input": "saddr", "output": "daddr"}


def _rule(chain: str, *expr: JsonObj, verdict: str = "accept") -> JsonObj:
    rule = {"family": FAMILY, "table": TABLE, "chain": chain, "expr": [*expr, {verdict: None}]}
    return {"add": {"rule": rule}}


def _iface(key: str) -> JsonObj:
    return {"match": {"op": "==", "left": {"meta": {"key": key}}, "right": "lo"}}


_TCP_FLAGS = {"payload": {"protocol": "tcp", "field": "flags"}}
# a connection's first packet: only the allowed side opens a connection
_TCP_OPENING = {"match": {"op": "==", "left": {"&": [_TCP_FLAGS, ["syn", "ack"]]}, "right": "syn"}}
_ICMP_TYPES = {
    "icmp": ["destination-unreachable", "time-exceeded", "parameter-problem"],
    "icmpv6": [
        "destination-unreachable", "packet-too-big", "time-exceeded", "parameter-problem",
        "nd-neighbor-solicit", "nd-neighbor-advert",
    ],
}  # fmt: skip
# the chain whose set holds the connection a reply belongs to
_OPPOSITE = {"input": "output", "output": "input"}


def _icmp(protocol: str) -> JsonObj:
    field = {"payload": {"protocol": protocol, "field": "type"}}
    return {"match": {"op": "==", "left": field, "right": {"set": _ICMP_TYPES[protocol]}}}


def set_name(chain: str, family: str, *, networks: bool = False) -> str:
    """The set of allowed (peer, protocol, port) of one chain and address family.

    Exact peers (a container's address) sit in a hash set; CIDRs in a `_net` interval
    set of their own, so the common lookup is a hash, not an interval walk.
    """
    return f"{chain}_{family}_net" if networks else f"{chain}_{family}"


def _lookup(chain: str, named: str, family: str, *, reply: bool = False) -> JsonObj:
    """`ip daddr . meta l4proto . th dport @output_ip` (saddr for input).

    As a reply (`reply`): a packet of a connection the other chain allows, flowing back:
    its source port is that connection's allowed port. `ip saddr . meta l4proto . th
    sport @output_ip` in input (a peer answering our connection), `ip daddr ... th sport
    @input_ip` in output (our answer to a peer's).
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
) -> dict[str, set[tuple[str, str, int]]]:
    """Per chain, the (peer address or CIDR, protocol, port) a container of `group` allows."""
    found: dict[str, set[tuple[str, str, int]]] = {"input": set(), "output": set()}
    found["output"] |= {(r, p, 53) for r in resolvers for p in ("udp", "tcp")}
    for rule in rules:
        if rule.src_kind == GROUP and rule.src == group:
            peers = _peers(rule.dst_kind, rule.dst, addresses)
            found["output"] |= {(a, rule.protocol, rule.port) for a in peers}
        if rule.dst_kind == GROUP and rule.dst == group:
            peers = _peers(rule.src_kind, rule.src, addresses)
            found["input"] |= {(a, rule.protocol, rule.port) for a in peers}
    return found


def _elements(
    triples: Iterable[tuple[str, str, int]], family: str, *, networks: bool
) -> list[JsonObj]:
    """The set elements of one family: exact peers, or (`networks`) CIDRs only."""
    version = 4 if family == "ip" else 6
    found = []
    for peer, protocol, port in sorted(triples):
        net = ipaddress.ip_network(peer, strict=False)
        if net.version == version and (net.num_addresses > 1) == networks:
            found.append({"concat": [address_expr(peer), protocol, port]})
    return found


SetKey = tuple[str, str, bool]  # chain, address family, networks


def _sets(triples: dict[str, set[tuple[str, str, int]]]) -> dict[SetKey, list[JsonObj]]:
    """Every set's elements, by (chain, family, networks): each declared, empty or not."""
    return {
        (hook, family, networks): _elements(triples[hook], family, networks=networks)
        for hook in ("input", "output")
        for family in _ADDRESS_TYPES
        for networks in (False, True)
    }


def _set_command(key: SetKey, elements: list[JsonObj]) -> JsonObj:
    hook, family, networks = key
    found: JsonObj = {
        "family": FAMILY, "table": TABLE, "name": set_name(hook, family, networks=networks),
        "type": [_ADDRESS_TYPES[family], "inet_proto", "inet_service"],
    }  # fmt: skip
    if networks:
        found["flags"] = ["interval"]
    return {"add": {"set": {**found, "elem": elements} if elements else found}}


def _chain_commands(hook: str, sets: dict[SetKey, list[JsonObj]]) -> list[JsonObj]:
    """One hook's chain: allowed peers, loopback, then replies to the other direction's.

    Only non-empty sets are looked up (the table is rebuilt whenever one changes). The
    peers come first so that a container's own connections (the packets that matter) pass
    after one rule; loopback is matched by interface index, not by name (a 16-byte copy)."""
    chain = {"family": FAMILY, "table": TABLE, "name": hook, "type": "filter", "hook": hook}
    commands = [{"add": {"chain": {**chain, "prio": PRIORITY, "policy": "drop"}}}]
    for (owner, family, networks), elements in sets.items():
        if owner == hook and elements:
            named = set_name(owner, family, networks=networks)
            commands.append(_rule(hook, _lookup(hook, named, family)))
    commands.append(_rule(hook, _iface("iif" if hook == "input" else "oif")))
    replies = [
        _rule(hook, _lookup(hook, set_name(owner, family, networks=networks), family, reply=True))
        for (owner, family, networks), elements in sets.items()
        if owner == _OPPOSITE[hook] and elements
    ]
    if replies:
        commands += [_rule(hook, _TCP_OPENING, verdict="drop"), *replies]
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
    sets = _sets(allowed_triples(group, rules, addresses, resolvers))
    commands += [_set_command(key, elements) for key, elements in sets.items()]
    for hook in ("input", "output"):
        commands += _chain_commands(hook, sets)
    return {"nftables": commands}


def remove_commands() -> JsonObj:
    """nft JSON commands removing the protect table (and nothing else), present or not."""
    table = {"family": FAMILY, "name": TABLE}
    return {"nftables": [{"add": {"table": table}}, {"delete": {"table": table}}]}


def has_protection(ruleset: JsonObj) -> bool:
    """True when a ruleset listing holds the protect table."""
    return any(item.get("table", {}).get("name") == TABLE for item in ruleset.get("nftables", []))
