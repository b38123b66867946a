"""The firewall's pure core: flows, allow-lists, socket tables, nft rules, NetworkPolicy."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import kubernetes_validate
import msgspec
import pytest
import yaml

from stockade.firewall.allowlist import (
    AllowRule,
    Violations,
    allowed,
    check_rule,
    learn,
    learnable,
)
from stockade.firewall.conntrack import parse_conntrack, tracked_connections
from stockade.firewall.enforce import Enforcer, Member
from stockade.firewall.events import connection_of, from_a_container
from stockade.firewall.flows import EXTERNAL, Connection, aggregate, merge, outbound
from stockade.firewall.networkpolicy import UNSELECTABLE_PEERS, network_policies, to_yaml
from stockade.firewall.nftrules import TABLE, protect_commands
from stockade.firewall.sockets import connections, parse_sockstat, parse_table, read_sockets
from stockade.model import Container, Event, Process
from stockade.model.events import FdInfo
from stockade.profiles.groups import GROUP_LABEL, group_id
from stockade.profiles.selectors import pod_selector

# /proc/net/tcp of a client: a listener on 22, an outbound to 10.88.0.5:8080 (TIME_WAIT),
# an accepted one on 22 from outside, and an outbound to 203.0.113.9:443.
TCP_TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0600580A:C350 0500580A:1F90 06 00000000:00000000 00:00000000 00000000     0        0 0 1
   2: 0600580A:0016 0A00000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 2 1
   3: 0600580A:C351 097100CB:01BB 01 00000000:00000000 00:00000000 00000000     0        0 3 1
   4: 0100007F:C352 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4 1
"""
GROUPS = {"10.88.0.5": "web", "10.88.0.6": "client"}


def test_socket_table_gives_outbound_and_inbound_from_outside() -> None:
    sockets = parse_table(TCP_TABLE, "tcp")
    assert sockets[1].local == "10.88.0.6" and sockets[1].remote_port == 8080
    found = {
        (c.src_kind, c.src, c.dst_kind, c.dst, c.port)
        for c in connections("client", sockets, GROUPS)
    }
    assert found == {
        ("group", "client", "group", "web", 8080),
        ("external", "10.0.0.10", "group", "client", 22),
        ("group", "client", "external", "203.0.113.9", 443),
    }


SOCKSTAT = """\
sockets: used 3
TCP: inuse {tcp} orphan 0 tw {tw} alloc 420 mem 95
UDP: inuse 0 mem 0
RAW: inuse 0
FRAG: inuse 0 memory 0
"""


def _netns(tmp_path: Path, sockstat: str | None) -> Path:
    """A /proc with one process whose namespace's tcp and udp tables both have rows."""
    net = tmp_path / "7" / "net"
    net.mkdir(parents=True)
    (net / "tcp").write_text(TCP_TABLE)
    (net / "udp").write_text(TCP_TABLE)
    if sockstat is not None:
        (net / "sockstat").write_text(sockstat)
        (net / "sockstat6").write_text("TCP6: inuse 0\nUDP6: inuse 0\nRAW6: inuse 0\n")
    return tmp_path


@pytest.mark.parametrize(
    ("sockstat", "protocols"),
    [
        (SOCKSTAT.format(tcp=4, tw=0), ["tcp"] * 5),
        (SOCKSTAT.format(tcp=0, tw=1), ["tcp"] * 5),  # TIME_WAIT ones only
        (SOCKSTAT.format(tcp=0, tw=0), []),  # no table read: each walks the host's hash
        (None, ["tcp"] * 5 + ["udp"] * 5),  # no counts: every table is read
    ],
)
def test_only_tables_the_namespace_counts_sockets_in_are_read(
    tmp_path: Path, sockstat: str | None, protocols: list[str]
) -> None:
    found = read_sockets(7, _netns(tmp_path, sockstat))
    assert [s.protocol for s in found] == protocols
    assert parse_sockstat(SOCKSTAT.format(tcp=4, tw=2))["TCP", "tw"] == 2


def test_flows_count_and_merge() -> None:
    conns = [
        Connection(src="a", dst="b", port=80, ts=5),
        Connection(src="a", dst="b", port=80, ts=2),
        Connection(src="a", dst="b", port=81, ts=3),
    ]
    flows = aggregate(conns)
    assert [(f.port, f.count, f.first_ns, f.last_ns) for f in flows] == [
        (80, 2, 2, 5),
        (81, 1, 3, 3),
    ]
    merged = merge(flows, aggregate([Connection(src="a", dst="b", port=80, ts=9)]))
    assert [(f.port, f.count, f.last_ns) for f in merged] == [(80, 3, 9), (81, 1, 3)]


def test_outbound_ignores_loopback_and_names_outside_addresses() -> None:
    assert outbound("a", "127.0.0.1", 80, "tcp", GROUPS) is None
    c = outbound("a", "::ffff:203.0.113.1", 80, "tcp", GROUPS)
    assert c is not None and (c.dst_kind, c.dst) == (EXTERNAL, "203.0.113.1")


def test_learned_rules_allow_their_flow_and_violations_report_once() -> None:
    rules = learn(aggregate([Connection(src="client", dst="web", port=8080)]))
    assert allowed(rules, Connection(src="client", dst="web", port=8080))
    new = Connection(src="client", dst="web", port=9090)
    violations = Violations()
    assert violations.new(rules, [new, new]) == [new]
    assert violations.new(rules, [new]) == []
    cidr = AllowRule(src="client", dst="203.0.113.0/24", dst_kind=EXTERNAL, port=443, origin="user")
    assert allowed([cidr], Connection(src="client", dst="203.0.113.7", dst_kind=EXTERNAL, port=443))


def test_flows_to_or_from_a_learning_group_are_learned() -> None:
    flows = aggregate([
        Connection(src="client", dst="web", port=8080),  # client learning: its egress
        Connection(src="203.0.113.9", src_kind=EXTERNAL, dst="web", port=80),  # web's ingress
        Connection(src="api", dst="db", port=5432),  # neither end learning
        Connection(src="203.0.113.9", src_kind=EXTERNAL, dst="db", port=5432),
    ])  # fmt: skip
    learned = learn(learnable(flows, ["client", "web"]))
    assert [(r.src, r.dst, r.port) for r in learned] == [
        ("203.0.113.9", "web", 80),
        ("client", "web", 8080),
    ]


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        (AllowRule(src="a", dst="b", port=0), "port 0"),
        (AllowRule(src="a", dst="b", port=80, protocol="icmp"), "protocol 'icmp'"),
        (AllowRule(src="a", dst="nope", dst_kind=EXTERNAL, port=80), "no address or CIDR"),
        (AllowRule(src="", dst="b", port=80), "rules\\[0\\].src: .. is no group id"),
        (AllowRule(src="a b", dst="b", port=80), "is no group id"),
    ],
    ids=["port", "protocol", "address", "empty", "space"],
)
def test_bad_rules_are_one_line_errors(rule: AllowRule, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        check_rule(rule, "rules[0]")


def _commands(commands: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [c["add"][kind] for c in commands["nftables"] if kind in c.get("add", {})]


def _elements(commands: dict[str, Any], name: str) -> list[Any]:
    return next(s.get("elem", []) for s in _commands(commands, "set") if s["name"] == name)


def _peers(
    commands: dict[str, Any], hook: str, family: str = "ip", protocol: str = "tcp"
) -> set[tuple[str, int]]:
    """The (peer address, port) in the chain's hash set of one family and protocol."""
    found = _commands(commands, "set")
    name = f"{hook}_{protocol}_peers"
    sets = [s for s in found if s["name"] == name and s["family"] == family]
    return {tuple(e["concat"]) for s in sets for e in s["elem"]}


def _looked_up(commands: dict[str, Any], chain: str, family: str = "ip") -> list[tuple[str, str]]:
    """The chain's lookups: (set name, port field), in order."""
    found = []
    for expr in _rules(commands, chain, family):
        match = expr[-2]["match"] if len(expr) > 1 else {}
        if str(match.get("right"))[:1] == "@":
            port = match["left"]["concat"][1]["payload"]["field"]
            found.append((match["right"][1:], port))
    return found


def _rules(commands: dict[str, Any], chain: str, family: str) -> list[Any]:
    found = _commands(commands, "rule")
    return [r["expr"] for r in found if (r["chain"], r["family"]) == (chain, family)]


def test_protect_rules_allow_learned_peers_dns_and_their_replies_only() -> None:
    rules = [AllowRule(src="client", dst="web", port=8080)]
    addresses = {"web": ["10.88.0.5", "10.88.0.7"], "client": ["10.88.0.6"]}
    web = protect_commands("web", rules, addresses, resolvers=["10.88.0.1"])
    chains = [c for c in _commands(web, "chain") if "hook" in c]
    assert {(c["family"], c["name"], c["policy"]) for c in chains} == {
        (family, hook, "drop") for family in ("ip", "ip6") for hook in ("input", "output")
    }
    flags = {"payload": {"base": "th", "offset": 96, "len": 32}}  # its second byte
    opening = {"op": "!=", "left": {"&": [flags, 0x120000]}, "right": 0x020000}  # SYN, no ACK
    protocol = {"ip": {"payload": {"protocol": "ip", "field": "protocol"}},
                "ip6": {"meta": {"key": "l4proto"}}}  # fmt: skip
    for family in ("ip", "ip6"):
        for hook in ("input", "output"):  # all but TCP elsewhere; TCP but openings accepted
            not_tcp = {"match": {"op": "!=", "left": protocol[family], "right": "tcp"}}
            first, second = _rules(web, hook, family)[:2]
            assert first == [not_tcp, {"goto": {"target": f"{hook}_other"}}]
            assert second == [{"match": opening}, {"accept": None}]
            assert _rules(web, f"{hook}_other", family)[-1] == [{"drop": None}]
    # openings and UDP look their peer up; TCP replies passed the second rule
    assert _peers(web, "input") == {("10.88.0.6", 8080)}
    assert _peers(web, "output") == {("10.88.0.1", 53)}
    assert _peers(web, "output", protocol="udp") == {("10.88.0.1", 53)}
    assert _looked_up(web, "input") == [("input_tcp_peers", "dport")]
    assert _looked_up(web, "input_other") == [("output_udp_peers", "sport")]  # DNS answers
    assert _looked_up(web, "output") == [("output_tcp_peers", "dport")]
    assert _looked_up(web, "output_other") == [("output_udp_peers", "dport")]  # no UDP inbound
    client = protect_commands("client", rules, addresses)
    assert _peers(client, "output") == {("10.88.0.5", 8080), ("10.88.0.7", 8080)}
    assert _peers(client, "input") == set()
    assert _looked_up(client, "input") == _looked_up(client, "input_other") == []
    assert web["nftables"][1] == {"delete": {"table": {"family": "inet", "name": TABLE}}}
    outside = [AllowRule(src="web", dst="2001:db8::/32", dst_kind=EXTERNAL, port=443)]
    ipv6 = protect_commands("web", outside, addresses)
    prefix = {"prefix": {"addr": "2001:db8::", "len": 32}}
    assert _elements(ipv6, "output_tcp_net") == [{"concat": [prefix, 443]}]
    assert _peers(ipv6, "output", "ip6") == set()
    assert _looked_up(ipv6, "output", "ip6") == [("output_tcp_net", "dport")]
    assert _looked_up(ipv6, "output") == []  # no IPv4 peer
    assert _looked_up(ipv6, "input", "ip6") == []  # TCP replies need no lookup


def test_enforcer_applies_once_per_namespace_and_removes_when_unprotected() -> None:
    applied: list[tuple[Path, str]] = []
    enforcer = Enforcer(apply=lambda netns, cmds: applied.append((netns, str(cmds)[:40])))
    web = Member("w" * 64, "web", 100, ("10.88.0.5",))
    enforcer.sync([web], [], {"web"})
    enforcer.sync([web], [], {"web"})
    assert len(applied) == 1
    restarted = Member("w" * 64, "web", 200, ("10.88.0.5",))
    assert enforcer.sync([restarted], [], {"web"}).applied == [web.container_id]
    assert enforcer.sync([restarted], [], set()).removed == [web.container_id]


# A Kubernetes Deployment's pod, a pod grouped by the explicit label, and a container
# outside Kubernetes that no label defines.
WEB_POD = Container(
    id="w" * 64, name="web", image_repository="shop/web", pod_name="web-7d4b9c8f6d-x2x9q",
    pod_namespace="shop", pod_labels={"app.kubernetes.io/name": "web", "app": "web",
                                      "pod-template-hash": "7d4b9c8f6d"},
)  # fmt: skip
CLIENT_POD = Container(
    id="c" * 64, name="client", image_repository="shop/client", pod_name="client",
    pod_namespace="shop", pod_labels={GROUP_LABEL: "shop-client"},
)  # fmt: skip
LONER = Container(id="l" * 64, image_repository="tools/loner")


def _export(rules: list[AllowRule]) -> tuple[str, list[dict[str, Any]]]:
    selectors = {str(group_id(c)): pod_selector(c) for c in (WEB_POD, CLIENT_POD, LONER)}
    text = to_yaml(*network_policies(rules, selectors))
    documents: list[dict[str, Any]] = yaml.safe_load(text)["items"]
    for document in documents:
        kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)
    return text, documents


def test_network_policy_export_is_valid_and_selects_the_pods_by_their_own_labels() -> None:
    web, client, loner = group_id(WEB_POD), group_id(CLIENT_POD), group_id(LONER)
    rules = [
        AllowRule(src=client, dst=web, port=8080),
        AllowRule(src=web, dst="203.0.113.0/24", dst_kind=EXTERNAL, port=443),
        AllowRule(src=loner, dst=web, port=9090),
    ]
    text, documents = _export(rules)
    by_name = {d["metadata"]["name"]: d for d in documents}
    assert set(by_name) == {f"stockade-{web}", f"stockade-{client}"}
    web_policy, client_policy = by_name[f"stockade-{web}"], by_name[f"stockade-{client}"]
    in_shop = {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}
    # the Deployment's pods by the labels their template gives (not the per-revision hash)
    assert web_policy["metadata"]["namespace"] == "shop"
    assert web_policy["spec"]["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/name": "web", "app": "web"}
    }
    assert web_policy["spec"]["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": in_shop,
                    "podSelector": {"matchLabels": {GROUP_LABEL: "shop-client"}},
                }
            ],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]  # the loner's rule has no peer to name: said so, not invented
    assert web_policy["metadata"]["annotations"] == {UNSELECTABLE_PEERS: loner}
    assert {
        "to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}],
        "ports": [{"protocol": "TCP", "port": 443}],
    } in web_policy["spec"]["egress"]
    assert client_policy["spec"]["podSelector"] == {"matchLabels": {GROUP_LABEL: "shop-client"}}
    assert client_policy["spec"]["ingress"] == []
    assert client_policy["spec"]["egress"][1] == {
        "to": [{"namespaceSelector": in_shop, "podSelector": web_policy["spec"]["podSelector"]}],
        "ports": [{"protocol": "TCP", "port": 8080}],
    }
    assert f"# group {loner}: no NetworkPolicy, no label selects its pods" in text


def test_an_invalid_policy_is_caught_by_the_schema() -> None:
    rules = [AllowRule(src=group_id(CLIENT_POD), dst=group_id(WEB_POD), port=80)]
    bad = _export(rules)[1][1]  # the web's: its ingress
    bad["spec"]["ingress"][0]["ports"][0]["protocol"] = 7
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, kubernetes_validate.latest_version(), strict=True)


def _event(kind: str, res: int = 0) -> Event:
    fd = FdInfo(type="ipv4", l4proto="tcp", sip="10.88.0.6", sport=50000,
                dip="10.88.0.5", dport=8080, is_server=kind != "connect")  # fmt: skip
    labels = {"stockade.group": "client" if kind == "connect" else "web"}
    container = Container(id="c" * 64, labels=labels)
    return Event(type=kind, ts=7, proc=Process(pid=1), container=container, fd=fd, res=res)


def test_connect_and_accept_events_are_connections() -> None:
    by_address = {"10.88.0.5": "web-x", "10.88.0.6": "client-x"}
    made = connection_of(_event("connect", -errno.EINPROGRESS), by_address)
    assert made is not None
    connection, key = made
    assert (connection.dst, connection.port, connection.ts) == ("web-x", 8080, 7)
    assert key == ("tcp", "10.88.0.6", 50000, "10.88.0.5", 8080)
    assert connection_of(_event("connect", -errno.ECONNREFUSED), by_address) is None
    assert connection_of(_event("accept"), by_address) is None  # the client reports it
    outside = connection_of(_event("accept"), {"10.88.0.5": "web-x"})
    assert outside is not None and outside[0].src_kind == EXTERNAL
    assert outside[1] == ("tcp", "10.88.0.5", 8080, "10.88.0.6", 50000)


def test_only_containers_inet_connections_are_kept_for_the_round() -> None:
    """What the firewall holds between rounds: the host's own connects (thousands a
    second on a busy host), unix sockets and other calls are never connections."""
    assert from_a_container(_event("connect")) and from_a_container(_event("accept4"))
    host = msgspec.structs.replace(_event("connect"), container=Container.host())
    unix = _event("connect")
    unix.fd = FdInfo(type="unix", name="/run/x.sock")
    opened = msgspec.structs.replace(_event("connect"), type="openat")
    assert not any(from_a_container(e) for e in (host, unix, opened))
    assert all(connection_of(e, {"10.88.0.5": "web-x"}) is None for e in (host, unix, opened))


CONNTRACK_TEXT = "\n".join(  # nf_conntrack lines: original direction, then the reply
    [
        "ipv4 2 tcp 6 431999 ESTABLISHED src=10.88.0.6 dst=203.0.113.9 sport=40000 dport=443"
        " src=203.0.113.9 dst=192.0.2.1 sport=443 dport=40000 [ASSURED] mark=0 zone=0 use=2",
        "ipv4 2 udp 17 20 src=198.51.100.7 dst=10.88.0.5 sport=5353 dport=53 [UNREPLIED]"
        " src=10.88.0.5 dst=198.51.100.7 sport=53 dport=5353 mark=0 zone=0 use=2",
        "ipv4 2 tcp 6 5 TIME_WAIT src=127.0.0.1 dst=127.0.0.1 sport=1 dport=2"
        " src=127.0.0.1 dst=127.0.0.1 sport=2 dport=1 mark=0 zone=0 use=2",
        "ipv4 2 icmp 1 29 src=10.88.0.6 dst=10.88.0.5 type=8 code=0 id=1"
        " src=10.88.0.5 dst=10.88.0.6 type=0 code=0 id=1 mark=0 zone=0 use=2",
    ]
)


def test_conntrack_entries_are_connections_of_known_containers() -> None:
    entries = parse_conntrack(CONNTRACK_TEXT)
    assert [e.key for e in entries][:2] == [
        ("tcp", "10.88.0.6", 40000, "203.0.113.9", 443),
        ("udp", "198.51.100.7", 5353, "10.88.0.5", 53),
    ]
    found = {
        (c.src_kind, c.src, c.dst_kind, c.dst, c.port, c.protocol)
        for c in tracked_connections(entries, GROUPS)
    }
    assert found == {
        ("group", "client", "external", "203.0.113.9", 443, "tcp"),
        ("external", "198.51.100.7", "group", "web", 53, "udp"),
    }
