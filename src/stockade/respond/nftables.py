"""The isolation ruleset as nftables JSON (pure), and `nft -j` run in a network namespace."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path
from typing import Any

from stockade.respond.errors import RespondError, TargetError

TABLE = "stockade_isolate"
FAMILY = "inet"
NFT_TIMEOUT_S = 10.0
JsonObj = dict[str, Any]


def address_expr(text: str) -> Any:
    """An nft JSON address or prefix; TargetError for anything else."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise TargetError(f"allow: {text!r} is not an IP address or CIDR") from None
    if net.num_addresses == 1:
        return str(net.network_address)
    return {"prefix": {"addr": str(net.network_address), "len": net.prefixlen}}


def payload_match(protocol: str, field: str, right: Any) -> JsonObj:
    """An nft JSON match of a packet header field (`ip saddr == right`)."""
    return {
        "match": {
            "op": "==",
            "left": {"payload": {"protocol": protocol, "field": field}},
            "right": right,
        }
    }


def _rule(chain: str, *expr: JsonObj, table: str = TABLE) -> JsonObj:
    return {
        "add": {
            "rule": {
                "family": FAMILY,
                "table": table,
                "chain": chain,
                "expr": [*expr, {"accept": None}],
            }
        }
    }


def _chain(hook: str, table: str = TABLE) -> JsonObj:
    chain = {"family": FAMILY, "table": table, "name": hook, "type": "filter", "hook": hook}
    return {"add": {"chain": {**chain, "prio": -300, "policy": "drop"}}}


def isolation_commands(
    allow: tuple[str, ...],
    table: str = TABLE,
    tcp_peers: tuple[tuple[str, int], ...] = (),
    established: bool = False,
) -> JsonObj:
    """nft JSON commands: drop everything in and out but loopback and the allowed peers.

    `tcp_peers` are (address, port) pairs allowed for TCP to and from that port alone;
    `established` also accepts packets of connections conntrack already knows.
    """
    commands: list[JsonObj] = [{"add": {"table": {"family": FAMILY, "name": table}}}]
    commands += [_chain(chain, table) for chain in ("input", "output")]
    for chain, key in (("input", "iifname"), ("output", "oifname")):
        loopback = {"match": {"op": "==", "left": {"meta": {"key": key}}, "right": "lo"}}
        commands.append(_rule(chain, loopback, table=table))
    if established:
        state = {"ct": {"key": "state"}}
        known = {"match": {"op": "in", "left": state, "right": ["established", "related"]}}
        commands += [_rule(chain, known, table=table) for chain in ("input", "output")]
    for text in allow:
        address = address_expr(text)
        protocol = "ip6" if ":" in text else "ip"
        commands.append(_rule("input", payload_match(protocol, "saddr", address), table=table))
        commands.append(_rule("output", payload_match(protocol, "daddr", address), table=table))
    for text, port in tcp_peers:
        address = address_expr(text)
        protocol = "ip6" if ":" in text else "ip"
        inbound = (payload_match(protocol, "saddr", address), payload_match("tcp", "sport", port))
        outbound = (payload_match(protocol, "daddr", address), payload_match("tcp", "dport", port))
        commands.append(_rule("input", *inbound, table=table))
        commands.append(_rule("output", *outbound, table=table))
    return {"nftables": commands}


def delete_command(table: str = TABLE) -> JsonObj:
    """The nft JSON command removing the isolation table."""
    return {"nftables": [{"delete": {"table": {"family": FAMILY, "name": table}}}]}


def has_isolation(ruleset: JsonObj, table: str = TABLE) -> bool:
    """True when a ruleset listing holds the isolation table."""
    return any(item.get("table", {}).get("name") == table for item in ruleset.get("nftables", []))


def without_metainfo(ruleset: JsonObj) -> list[JsonObj]:
    """A listing's objects without its version header, for comparing two listings."""
    return [item for item in ruleset.get("nftables", []) if "metainfo" not in item]


def comparable(ruleset: JsonObj) -> list[JsonObj]:
    """A listing's objects as a release must give them back: without the version header and
    without counters' running values (the traffic counted meanwhile is not a rule change)."""
    return [_without_counts(item) for item in without_metainfo(ruleset)]


def _without_counts(value: Any) -> Any:
    if isinstance(value, list):
        return [_without_counts(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _without_counts(v) for k, v in value.items()}
    counter = out.get("counter")
    if isinstance(counter, dict):  # a rule's counter statement or a named counter object
        out["counter"] = {k: v for k, v in counter.items() if k not in ("packets", "bytes")}
    return out


def restore_commands(saved: JsonObj) -> JsonObj:
    """nft JSON commands replacing the whole ruleset by a saved listing."""
    return {"nftables": [{"flush": {"ruleset": None}}, *without_metainfo(saved)]}


def nft(netns: Path, *args: str, commands: JsonObj | None = None) -> JsonObj:
    """Run `nft -j ARGS` inside the network namespace `netns`; its JSON answer, if any."""
    argv = ["nsenter", f"--net={netns}", "nft", "-j", *args]
    try:
        done = subprocess.run(
            argv,
            input=json.dumps(commands).encode() if commands is not None else None,
            capture_output=True,
            timeout=NFT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as e:
        raise RespondError(
            f"{e.filename} is not installed (install nftables and util-linux)"
        ) from e
    except subprocess.TimeoutExpired:
        raise RespondError(
            f"nft {' '.join(args)} in {netns} took over {NFT_TIMEOUT_S:g} s"
        ) from None
    if done.returncode != 0:
        reason = " ".join(done.stderr.decode(errors="replace").split())[:300]
        raise RespondError(f"nft {' '.join(args)} in {netns} failed: {reason}")
    out = done.stdout.strip()
    return json.loads(out) if out else {}


def list_ruleset(netns: Path) -> JsonObj:
    """The namespace's whole ruleset, as `nft -j list ruleset` prints it."""
    return nft(netns, "list", "ruleset")


def apply(netns: Path, commands: JsonObj) -> None:
    """Apply JSON commands in one transaction (all or nothing)."""
    nft(netns, "-f", "-", commands=commands)
