"""The protect ruleset of one container as nftables JSON (pure).

Once a group is protected, each of its containers gets one table in its own network
namespace: both directions drop by default; loopback, established and related traffic,
DNS to the configured resolvers and every allow rule naming the group are accepted.
The commands replace the table whole in one transaction, so re-applying is idempotent.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stockade.firewall.allowlist import AllowRule
from stockade.firewall.flows import GROUP
from stockade.respond.nftables import FAMILY, address_expr, payload_match

TABLE = "stockade_firewall"
PRIORITY = 0  # after isolation (-300): an isolated container stays cut off whatever this allows
JsonObj = dict[str, Any]


def _rule(chain: str, *expr: JsonObj) -> JsonObj:
    rule = {"family": FAMILY, "table": TABLE, "chain": chain, "expr": [*expr, {"accept": None}]}
    return {"add": {"rule": rule}}


def _iface(key: str) -> JsonObj:
    return {"match": {"op": "==", "left": {"meta": {"key": key}}, "right": "lo"}}


_ESTABLISHED = {
    "match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}
}


def _by_family(addresses: Iterable[str]) -> dict[str, list[Any]]:
    """Addresses and CIDRs as nft JSON, split into ip and ip6."""
    found: dict[str, list[Any]] = {}
    for text in sorted(set(addresses)):
        net = ipaddress.ip_network(text, strict=False)
        found.setdefault("ip" if net.version == 4 else "ip6", []).append(address_expr(text))
    return found


def _matches(field: str, addresses: Iterable[str], protocol: str, port: int) -> list[list[JsonObj]]:
    """One expression list per address family: the peer is one of them, on the port."""
    port_match = payload_match(protocol, "dport", port)
    return [
        [payload_match(family, field, items[0] if len(items) == 1 else {"set": items}), port_match]
        for family, items in _by_family(addresses).items()
    ]


def _peers(kind: str, value: str, addresses: Mapping[str, Sequence[str]]) -> Sequence[str]:
    return addresses.get(value, ()) if kind == GROUP else (value,)


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
    for hook in ("input", "output"):
        chain = {"family": FAMILY, "table": TABLE, "name": hook, "type": "filter", "hook": hook}
        commands.append({"add": {"chain": {**chain, "prio": PRIORITY, "policy": "drop"}}})
        commands.append(_rule(hook, _iface("iifname" if hook == "input" else "oifname")))
        commands.append(_rule(hook, _ESTABLISHED))
    for protocol in ("udp", "tcp"):
        commands += [_rule("output", *e) for e in _matches("daddr", resolvers, protocol, 53)]
    for rule in rules:
        if rule.src_kind == GROUP and rule.src == group:
            peers = _peers(rule.dst_kind, rule.dst, addresses)
            matches = _matches("daddr", peers, rule.protocol, rule.port)
            commands += [_rule("output", *e) for e in matches]
        if rule.dst_kind == GROUP and rule.dst == group:
            peers = _peers(rule.src_kind, rule.src, addresses)
            matches = _matches("saddr", peers, rule.protocol, rule.port)
            commands += [_rule("input", *e) for e in matches]
    return {"nftables": commands}


def remove_commands() -> JsonObj:
    """nft JSON commands removing the protect table (and nothing else), present or not."""
    table = {"family": FAMILY, "name": TABLE}
    return {"nftables": [{"add": {"table": table}}, {"delete": {"table": table}}]}


def has_protection(ruleset: JsonObj) -> bool:
    """True when a ruleset listing holds the protect table."""
    return any(item.get("table", {}).get("name") == TABLE for item in ruleset.get("nftables", []))
