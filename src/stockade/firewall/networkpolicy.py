"""The allow-list as Kubernetes NetworkPolicy documents (pure: rules in, YAML out).

One NetworkPolicy per group that any rule names (all in one `v1` List): it selects
the group's pods by the `stockade.io/group` label, denies by default in both
directions (both policy types), and allows exactly the rules' peers and ports, plus
DNS. Peers that are groups are selected by the same label in every namespace;
external peers become ipBlocks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

import yaml

from stockade.firewall.allowlist import AllowRule
from stockade.firewall.flows import GROUP

GROUP_LABEL = "stockade.io/group"
JsonObj = dict[str, Any]
_DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def _peer(kind: str, value: str) -> JsonObj:
    if kind == GROUP:
        return {
            "namespaceSelector": {},
            "podSelector": {"matchLabels": {GROUP_LABEL: value}},
        }
    return {"ipBlock": {"cidr": str(ipaddress.ip_network(value, strict=False))}}


def _port(rule: AllowRule) -> JsonObj:
    return {"protocol": rule.protocol.upper(), "port": rule.port}


def policy_for(group: str, rules: Iterable[AllowRule]) -> JsonObj:
    """The NetworkPolicy of one group: its ingress and egress rules from the allow-list."""
    ingress: list[JsonObj] = []
    egress: list[JsonObj] = [{"ports": list(_DNS_PORTS)}]
    for rule in rules:
        if rule.dst_kind == GROUP and rule.dst == group:
            ingress.append({"from": [_peer(rule.src_kind, rule.src)], "ports": [_port(rule)]})
        if rule.src_kind == GROUP and rule.src == group:
            egress.append({"to": [_peer(rule.dst_kind, rule.dst)], "ports": [_port(rule)]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": f"stockade-{group}"[:253],
            "labels": {"app.kubernetes.io/managed-by": "stockade"},
        },
        "spec": {
            "podSelector": {"matchLabels": {GROUP_LABEL: group}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }


def groups_named(rules: Iterable[AllowRule]) -> list[str]:
    """Every group a rule names, as source or destination, sorted."""
    found: set[str] = set()
    for rule in rules:
        found.update(
            v for k, v in ((rule.src_kind, rule.src), (rule.dst_kind, rule.dst)) if k == GROUP
        )
    return sorted(found)


def network_policies(rules: Iterable[AllowRule]) -> list[JsonObj]:
    """One NetworkPolicy per group the rules name."""
    kept = list(rules)
    return [policy_for(group, kept) for group in groups_named(kept)]


def to_yaml(policies: Iterable[JsonObj]) -> str:
    """The policies as one YAML document: a `v1` List, as `kubectl get -o yaml` writes."""
    listing = {"apiVersion": "v1", "kind": "List", "items": list(policies)}
    return yaml.safe_dump(listing, sort_keys=False)
