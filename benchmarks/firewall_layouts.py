"""Other layouts of the protect tables, for `bench_firewall.py --ab` (measurement only).

Each takes the tables as `nftrules.protect_commands` builds them and returns the same
policy laid out otherwise, so that one run of the harness compares them with the tables
as applied and with no table at all (`nft --debug=netlink list table ip NAME` in a
namespace shows what each compiles to):

- `flags8`: the flags test as a 1-byte load of the flags byte, masked there (the form
  before the aligned 4-byte load: its mask is a call, the 4-byte one is inlined).
- `flags-first`: the flags test first, the protocol test after it in the same rule, then
  the rule sending all but TCP elsewhere: one rule on a reply's path instead of two.
- `proto-vmap`: one verdict map on the protocol (`ip protocol vmap { tcp : goto
  output_tcp }`), the TCP rules in a regular chain, a rule sending the rest elsewhere.
- `flags-vmap`: the flags test as a verdict map keyed on the masked flags byte
  (`tcp flags & (syn | ack) vmap { 0, ack, syn | ack : accept }`).
- `policy-accept`: base chains of policy accept; after the rule sending all but TCP
  elsewhere, an opening (the flags test, equal) goes to a regular chain of the lookups
  ending in a drop: a reply passes two rules and no verdict expression.
- `no-ip6`: the IPv4 table alone (the IPv6 one hooks only IPv6 packets: costs nothing
  here if the kernel keeps the families apart).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

JsonObj = dict[str, Any]
Layout = Callable[[JsonObj], JsonObj]
_BASE_HOOKS = ("input", "output")
_FLAGS8 = {"payload": {"base": "th", "offset": 104, "len": 8}}
_NOT_OPENING8 = {"match": {"op": "!=", "left": {"&": [_FLAGS8, 0x12]}, "right": 0x02}}


def _rule_of(command: JsonObj) -> JsonObj | None:
    rule: JsonObj | None = command.get("add", {}).get("rule")
    return rule


def _is_flags_test(expr: JsonObj) -> bool:
    left = expr.get("match", {}).get("left", {})
    return (
        isinstance(left, dict)
        and "&" in left
        and left["&"][0].get("payload", {}).get("base") == "th"
    )


def _in_base(rule: JsonObj) -> bool:
    return bool(rule["chain"] in _BASE_HOOKS)


def flags8(table: JsonObj) -> JsonObj:
    """The flags test as a 1-byte load, mask and compare."""
    found = []
    for command in table["nftables"]:
        rule = _rule_of(command)
        if rule is not None and _is_flags_test(rule["expr"][0]):
            rule = {**rule, "expr": [_NOT_OPENING8, *rule["expr"][1:]]}
            command = {"add": {"rule": rule}}
        found.append(command)
    return {"nftables": found}


def flags_first(table: JsonObj) -> JsonObj:
    """The flags test, then `protocol == tcp`, accept; then all but TCP elsewhere."""
    commands = table["nftables"]
    found: list[JsonObj] = []
    held: dict[tuple[str, str], JsonObj] = {}  # the protocol rule, until the flags rule
    for command in commands:
        rule = _rule_of(command)
        if rule is None or not _in_base(rule):
            found.append(command)
            continue
        key = (rule["family"], rule["chain"])
        if "goto" in rule["expr"][-1]:
            held[key] = command
            continue
        if _is_flags_test(rule["expr"][0]):
            protocol = held[key]["add"]["rule"]["expr"][0]["match"]
            is_tcp = {"match": {**protocol, "op": "=="}}
            first = {**rule, "expr": [rule["expr"][0], is_tcp, *rule["expr"][1:]]}
            found += [{"add": {"rule": first}}, held.pop(key)]
            continue
        found.append(command)
    return {"nftables": found}


def proto_vmap(table: JsonObj) -> JsonObj:
    """A verdict map on the protocol sending TCP to a regular chain of the TCP rules."""
    found: list[JsonObj] = []
    for command in table["nftables"]:
        chain = command.get("add", {}).get("chain", {})
        if "hook" in chain:
            tcp = {
                "family": chain["family"],
                "table": chain["table"],
                "name": f"{chain['name']}_tcp",
            }
            found += [{"add": {"chain": tcp}}, command]
            continue
        rule = _rule_of(command)
        if rule is None or not _in_base(rule):
            found.append(command)
        elif "goto" in rule["expr"][-1]:
            left = rule["expr"][0]["match"]["left"]
            target = {"goto": {"target": f"{rule['chain']}_tcp"}}
            vmap = {"vmap": {"key": left, "data": {"set": [["tcp", target]]}}}
            found += [
                {"add": {"rule": {**rule, "expr": [vmap]}}},
                {"add": {"rule": {**rule, "expr": [rule["expr"][-1]]}}},
            ]
        else:
            found.append({"add": {"rule": {**rule, "chain": f"{rule['chain']}_tcp"}}})
    return {"nftables": found}


def flags_vmap(table: JsonObj) -> JsonObj:
    """The flags test as a verdict map on the masked flags byte."""
    found = []
    accept = {"accept": None}
    for command in table["nftables"]:
        rule = _rule_of(command)
        if rule is not None and _is_flags_test(rule["expr"][0]):
            key = {"&": [_FLAGS8, 0x12]}
            data = {"set": [[0, accept], [0x10, accept], [0x12, accept]]}
            command = {"add": {"rule": {**rule, "expr": [{"vmap": {"key": key, "data": data}}]}}}
        found.append(command)
    return {"nftables": found}


def policy_accept(table: JsonObj) -> JsonObj:
    """Openings to a chain of the lookups ending in a drop; anything else TCP accepted by
    the base chain's policy."""
    found: list[JsonObj] = []
    for command in table["nftables"]:
        chain = command.get("add", {}).get("chain", {})
        if "hook" in chain:
            opening = {"family": chain["family"], "table": chain["table"]}
            opening["name"] = f"{chain['name']}_open"
            found += [
                {"add": {"chain": opening}},
                {"add": {"chain": {**chain, "policy": "accept"}}},
            ]
            continue
        rule = _rule_of(command)
        if rule is None or not _in_base(rule) or "goto" in rule["expr"][-1]:
            found.append(command)
        elif _is_flags_test(rule["expr"][0]):
            is_opening = {"match": {**rule["expr"][0]["match"], "op": "=="}}
            target = {"goto": {"target": f"{rule['chain']}_open"}}
            found.append({"add": {"rule": {**rule, "expr": [is_opening, target]}}})
        else:
            found.append({"add": {"rule": {**rule, "chain": f"{rule['chain']}_open"}}})
    for hook in _BASE_HOOKS:  # each opening chain ends in a drop
        for family in {str(r["family"]) for c in found if (r := _rule_of(c)) is not None}:
            drop = {"family": family, "table": _table(found), "chain": f"{hook}_open"}
            found.append({"add": {"rule": {**drop, "expr": [{"drop": None}]}}})
    return {"nftables": found}


def _table(commands: list[JsonObj]) -> str:
    return next(str(r["table"]) for c in commands if (r := _rule_of(c)) is not None)


def _family(command: JsonObj) -> str | None:
    for value in command.values():
        for inner in value.values():
            return str(inner.get("family"))
    return None


def no_ip6(table: JsonObj) -> JsonObj:
    """The IPv4 table alone (the IPv6 one still removed, as another layout may have left it)."""
    found: list[JsonObj] = []
    removed = False
    for command in table["nftables"]:
        if _family(command) != "ip6" or not removed:
            found.append(command)
        removed = removed or (_family(command) == "ip6" and "delete" in command)
    return {"nftables": found}


LAYOUTS: dict[str, Layout] = {
    "flags8": flags8,
    "flags-first": flags_first,
    "proto-vmap": proto_vmap,
    "flags-vmap": flags_vmap,
    "policy-accept": policy_accept,
    "no-ip6": no_ip6,
}
