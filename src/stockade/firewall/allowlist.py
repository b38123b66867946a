"""Allow-lists: which flows a group pair may have, learned from flows or set by a user.

A rule allows one source (a group, or an address or CIDR outside) to reach one
destination (a group, or an address or CIDR) on one port and protocol. Judging a
connection against the rules is pure; so is the monitor's deduplication of violations.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable

import msgspec

from stockade.firewall.flows import EXTERNAL, GROUP, Connection, Flow

LEARNED = "learned"
USER = "user"
PROTOCOLS = ("tcp", "udp")


class AllowRule(msgspec.Struct, frozen=True, kw_only=True):
    """Traffic from `src` to `dst` on `port`/`protocol` is allowed."""

    src: str  # a group id, or an address/CIDR when src_kind is external
    dst: str
    src_kind: str = GROUP
    dst_kind: str = GROUP
    port: int
    protocol: str = "tcp"
    origin: str = LEARNED  # learned | user

    @property
    def id(self) -> str:
        """A stable id: the same rule, the same id."""
        text = "\x00".join(
            (self.src_kind, self.src, self.dst_kind, self.dst, str(self.port), self.protocol)
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# A group id is used as a Kubernetes label value in the NetworkPolicy export.
_GROUP_ID = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def check_endpoint(kind: str, value: str, where: str) -> None:
    """A ValueError naming `where` unless `value` is a group id or (external) address/CIDR."""
    if kind == GROUP:
        if not _GROUP_ID.match(value):
            raise ValueError(f"{where}: {value!r} is no group id (1-63 letters, digits, -_.)")
    elif kind == EXTERNAL:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{where}: {value!r} is no address or CIDR") from None
    else:
        raise ValueError(f"{where}: kind {kind!r} is not group or external")


def check_rule(rule: AllowRule, where: str) -> AllowRule:
    """The rule if it is well formed; else a ValueError naming `where` and what is wrong."""
    if rule.protocol not in PROTOCOLS:
        raise ValueError(f"{where}: protocol {rule.protocol!r} is not one of tcp, udp")
    if not 0 < rule.port < 65536:
        raise ValueError(f"{where}: port {rule.port} is not between 1 and 65535")
    check_endpoint(rule.src_kind, rule.src, f"{where}.src")
    check_endpoint(rule.dst_kind, rule.dst, f"{where}.dst")
    return rule


def learnable(flows: Iterable[Flow], learning: Iterable[str]) -> list[Flow]:
    """The flows with a learning group at either end.

    The destination counts too: a group in discover learns who reaches it, from another
    group or from outside (a load balancer, the host), or it would raise a violation for
    its own inbound traffic as soon as it leaves discover.
    """
    groups = set(learning)
    return [
        f for f in flows
        if (f.src_kind == GROUP and f.src in groups) or (f.dst_kind == GROUP and f.dst in groups)
    ]  # fmt: skip


def learn(flows: Iterable[Flow]) -> list[AllowRule]:
    """One learned rule per flow (its exact source, destination, port and protocol)."""
    rules = {
        r.id: r
        for r in (
            AllowRule(
                src=f.src,
                dst=f.dst,
                src_kind=f.src_kind,
                dst_kind=f.dst_kind,
                port=f.port,
                protocol=f.protocol,
            )  # fmt: skip
            for f in flows
        )
    }
    return sorted(rules.values(), key=lambda r: (r.src, r.dst, r.port, r.protocol))


def _covers(rule_value: str, kind: str, value: str) -> bool:
    if kind == GROUP:
        return rule_value == value
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(rule_value, strict=False)
    except ValueError:
        return False


def allows(rule: AllowRule, c: Connection) -> bool:
    """True when the rule allows the connection."""
    return (
        rule.port == c.port
        and rule.protocol == c.protocol
        and rule.src_kind == c.src_kind
        and rule.dst_kind == c.dst_kind
        and _covers(rule.src, rule.src_kind, c.src)
        and _covers(rule.dst, rule.dst_kind, c.dst)
    )


def allowed(rules: Iterable[AllowRule], c: Connection) -> bool:
    """True when any rule allows the connection."""
    return any(allows(rule, c) for rule in rules)


class Violations:
    """The monitor's memory: each not-allowed flow is reported once, then stays quiet."""

    def __init__(self) -> None:
        self._reported: set[tuple[str, str, str, str, int, str]] = set()

    def new(
        self, rules: Iterable[AllowRule], connections: Iterable[Connection]
    ) -> list[Connection]:
        """The connections no rule allows whose flow was not reported before."""
        kept = list(rules)
        fresh: list[Connection] = []
        for c in connections:
            if c.key in self._reported or allowed(kept, c):
                continue
            self._reported.add(c.key)
            fresh.append(c)
        return fresh
