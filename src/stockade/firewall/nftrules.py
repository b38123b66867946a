"""The protect ruleset of one container as nftables JSON (pure).

Once a group is protected, each of its containers gets one table in its own network
namespace: both directions drop by default; loopback, established and related traffic,
DNS to the configured resolvers and every allow rule naming the group are accepted.
The allowed (peer, protocol, port) triples sit in sets (one per direction and address
family), so a new connection costs one set lookup however many groups the rules name.
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


def _rule(chain: str, *expr: JsonObj) -> JsonObj:
    rule = {"family": FAMILY, "table": TABLE, "chain": chain, "expr": [*expr, {"accept": None}]}
    return {"add": {"rule": rule}}


def _iface(key: str) -> JsonObj:
    return {"match": {"op": "==", "left": {"meta": {"key": key}}, "right": "lo"}}


_ESTABLISHED = {
    "match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}
}


def set_name(chain: str, family: str) -> str:
    """The set of allowed (peer, protocol, port) of one chain and address family."""
    return f"{chain}_{family}"


def _lookup(chain: str, family: str) -> JsonObj:
    """`ip daddr . meta l4proto . th dport @output_ip` (saddr for input)."""
    key = [
        {"payload": {"protocol": family, "field": _PEER_FIELD[chain]}},
        {"meta": {"key": "l4proto"}},
        {"payload": {"protocol": "th", "field": "dport"}},
    ]
    return {"match": {"op": "==", "left": {"concat": key}, "right": f"@{set_name(chain, family)}"}}


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


def _elements(triples: Iterable[tuple[str, str, int]], family: str) -> list[JsonObj]:
    version = 4 if family == "ip" else 6
    return [
        {"concat": [address_expr(peer), protocol, port]}
        for peer, protocol, port in sorted(triples)
        if ipaddress.ip_network(peer, strict=False).version == version
    ]


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
    for hook in ("input", "output"):
        for family, address_type in _ADDRESS_TYPES.items():
            found = {
                "family": FAMILY, "table": TABLE, "name": set_name(hook, family),
                "type": [address_type, "inet_proto", "inet_service"], "flags": ["interval"],
            }  # fmt: skip
            elements = _elements(triples[hook], family)
            commands.append({"add": {"set": {**found, "elem": elements} if elements else found}})
        chain = {"family": FAMILY, "table": TABLE, "name": hook, "type": "filter", "hook": hook}
        commands.append({"add": {"chain": {**chain, "prio": PRIORITY, "policy": "drop"}}})
        commands.append(_rule(hook, _iface("iifname" if hook == "input" else "oifname")))
        commands.append(_rule(hook, _ESTABLISHED))
        commands += [_rule(hook, _lookup(hook, family)) for family in _ADDRESS_TYPES]
    return {"nftables": commands}


def remove_commands() -> JsonObj:
    """nft JSON commands removing the protect table (and nothing else), present or not."""
    table = {"family": FAMILY, "name": TABLE}
    return {"nftables": [{"add": {"table": table}}, {"delete": {"table": table}}]}


def has_protection(ruleset: JsonObj) -> bool:
    """True when a ruleset listing holds the protect table."""
    return any(item.get("table", {}).get("name") == TABLE for item in ruleset.get("nftables", []))
