"""The allow-list as Kubernetes NetworkPolicy documents (pure: rules and selectors in, YAML out).

One NetworkPolicy per group that any rule names (all in one `v1` List): it selects the
group's pods by the labels they really carry (`profiles/selectors.py`: the explicit
`stockade.group` label, or a Kubernetes workload's pod labels, in its namespace), denies
by default in both directions (both policy types), and allows exactly the rules' peers
and ports, plus DNS. Peers that are groups are selected the same way; external peers
become ipBlocks. A group no label selects gets no policy (a comment at the top says
why) and, as a peer, no rule (the policy's `stockade.io/unselectable-peers` annotation
names it): deny by default keeps those connections closed rather than guessing a label.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from stockade.firewall.allowlist import AllowRule
from stockade.firewall.flows import GROUP
from stockade.profiles.selectors import PodSelector

NAMESPACE_LABEL = "kubernetes.io/metadata.name"
UNSELECTABLE_PEERS = "stockade.io/unselectable-peers"
JsonObj = dict[str, Any]
_DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
_UNKNOWN = PodSelector(unselectable="no container of it was reported with its labels")


def selector_of(group: str, selectors: Mapping[str, PodSelector]) -> PodSelector:
    """The group's recorded selector (one that says why it has none if none was recorded)."""
    return selectors.get(group, _UNKNOWN)


def _namespaces(selector: PodSelector) -> JsonObj:
    if not selector.namespace:
        return {}
    return {"matchLabels": {NAMESPACE_LABEL: selector.namespace}}


def _peer(kind: str, value: str, selectors: Mapping[str, PodSelector]) -> JsonObj | None:
    if kind != GROUP:
        return {"ipBlock": {"cidr": str(ipaddress.ip_network(value, strict=False))}}
    selector = selector_of(value, selectors)
    if selector.unselectable:
        return None
    return {
        "namespaceSelector": _namespaces(selector),
        "podSelector": {"matchLabels": dict(selector.labels)},
    }


def _port(rule: AllowRule) -> JsonObj:
    return {"protocol": rule.protocol.upper(), "port": rule.port}


def policy_for(
    group: str, rules: Iterable[AllowRule], selectors: Mapping[str, PodSelector]
) -> JsonObj:
    """The NetworkPolicy of one selectable group: its ingress and egress from the allow-list."""
    ingress: list[JsonObj] = []
    egress: list[JsonObj] = [{"ports": list(_DNS_PORTS)}]
    left_out: set[str] = set()
    for rule in rules:
        if rule.dst_kind == GROUP and rule.dst == group:
            peer = _peer(rule.src_kind, rule.src, selectors)
            if peer is None:
                left_out.add(rule.src)
            else:
                ingress.append({"from": [peer], "ports": [_port(rule)]})
        if rule.src_kind == GROUP and rule.src == group:
            peer = _peer(rule.dst_kind, rule.dst, selectors)
            if peer is None:
                left_out.add(rule.dst)
            else:
                egress.append({"to": [peer], "ports": [_port(rule)]})
    selector = selector_of(group, selectors)
    metadata: JsonObj = {
        "name": f"stockade-{group}"[:253],
        "labels": {"app.kubernetes.io/managed-by": "stockade"},
    }
    if selector.namespace:
        metadata["namespace"] = selector.namespace
    if left_out:
        metadata["annotations"] = {UNSELECTABLE_PEERS: ", ".join(sorted(left_out))}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata,
        "spec": {
            "podSelector": {"matchLabels": dict(selector.labels)},
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


def network_policies(
    rules: Iterable[AllowRule], selectors: Mapping[str, PodSelector]
) -> tuple[list[JsonObj], list[str]]:
    """One NetworkPolicy per selectable group the rules name, and a note per other group."""
    kept = list(rules)
    policies: list[JsonObj] = []
    notes: list[str] = []
    for group in groups_named(kept):
        why = selector_of(group, selectors).unselectable
        if why:
            notes.append(f"group {group}: no NetworkPolicy, no label selects its pods: {why}")
        else:
            policies.append(policy_for(group, kept, selectors))
    return policies, notes


def to_yaml(policies: Iterable[JsonObj], notes: Iterable[str] = ()) -> str:
    """The policies as one YAML document: a `v1` List, as `kubectl get -o yaml` writes,
    after a comment line per note."""
    listing = {"apiVersion": "v1", "kind": "List", "items": list(policies)}
    comments = "".join(f"# {' '.join(note.split())}\n" for note in notes)
    return comments + yaml.safe_dump(listing, sort_keys=False)
