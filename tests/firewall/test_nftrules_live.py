"""The protect tables in real network namespaces: what they let through.

Two namespaces joined by a veth pair (IPv4 and IPv6), a server (listening on 8080 and
9090) and a client (listening on 7070), one rule: client -> server:8080. Quicker than
containers, and it reaches the cases the container test does not: a peer's allowed port
cannot open a connection back (a SYN is never a reply), loopback inside a protected
namespace, IPv6 (its own table).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stockade.firewall.allowlist import AllowRule
from stockade.firewall.nftrules import TABLE, protect_commands, remove_commands
from stockade.respond import nftables
from tests.support.ci import require
from tests.support.polling import poll_until, poll_value

pytestmark = [pytest.mark.root]
CLIENT, SERVER = "10.254.7.1", "10.254.7.2"
CLIENT6, SERVER6 = "fd00:254:7::1", "fd00:254:7::2"
LISTEN = """
import select, socket, sys
listeners = []
for port in sys.argv[1:]:  # IPv4 and IPv6 alike
    s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", int(port))); s.listen(16); listeners.append(s)
print("ready", flush=True)
while True:
    for s in select.select(listeners, [], [])[0]:
        s.accept()[0].close()
"""
CONNECT = """
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET); s.settimeout(1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # the listener's port as a source
if len(sys.argv) > 3:
    s.bind(("::" if ":" in sys.argv[1] else "0.0.0.0", int(sys.argv[3])))
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); print("connected")
except OSError as e:
    print(type(e).__name__)
"""

# hand-made packets to a port (pinned to one CPU, so they arrive in order): a SYN with
# ECN flags (an opening all the same), a UDP datagram, then a bare ACK (no connection's)
FAKES = """
import os, socket, struct, sys
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
def checksum(data):
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
def segment(flags):
    header = struct.pack("!HHIIBBHHH", 40000, port, 1, 1, 5 << 4, flags, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", 6, 20)
    return header[:16] + struct.pack("!H", checksum(pseudo + header)) + header[18:]
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
raw.sendto(segment(0xC2), (dst, 0))  # SYN|ECE|CWR
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", (dst, port))
raw.sendto(segment(0x10), (dst, 0))  # ACK
"""


@dataclass(frozen=True)
class Pair:
    """The client and server namespaces (their names under /run/netns)."""

    client: str
    server: str

    def connects(self, ns: str, address: str, port: int, source_port: int = 0) -> bool:
        """True when a TCP connection from `ns` (from `source_port`, if given) is set up."""
        argv = ["ip", "netns", "exec", ns, sys.executable, "-c", CONNECT, address, str(port)]
        argv += [str(source_port)] if source_port else []
        out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=10)
        return out.stdout.strip() == "connected"

    def protect(self, ns: str, group: str, rules: list[AllowRule]) -> None:
        """Apply the group's protect tables in `ns`."""
        addresses = {"client": [CLIENT, CLIENT6], "server": [SERVER, SERVER6]}
        nftables.apply(Path(f"/run/netns/{ns}"), protect_commands(group, rules, addresses))


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _listen(ns: str, *ports: int) -> subprocess.Popen[str]:
    argv = ["ip", "netns", "exec", ns, sys.executable, "-c", LISTEN, *map(str, ports)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


@pytest.fixture
def pair() -> Iterator[Pair]:
    """Client and server namespaces joined by a veth pair, with their listeners."""
    require(shutil.which("nft") and shutil.which("ip"), "nft or ip missing")
    tag = uuid.uuid4().hex[:6]
    found = Pair(f"sfwtc-{tag}", f"sfwts-{tag}")
    listeners: list[subprocess.Popen[str]] = []
    try:
        _ip("netns", "add", found.client)
        _ip("netns", "add", found.server)
        _ip("link", "add", "c0", "netns", found.client, "type", "veth",
            "peer", "s0", "netns", found.server)  # fmt: skip
        for ns, link, address, address6 in (
            (found.client, "c0", CLIENT, CLIENT6),
            (found.server, "s0", SERVER, SERVER6),
        ):
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", link)
            _ip("-n", ns, "addr", "add", f"{address6}/64", "dev", link, "nodad")
            _ip("-n", ns, "link", "set", link, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        listeners += [_listen(found.server, 8080, 9090), _listen(found.client, 7070)]
        yield found
    finally:
        for process in listeners:
            process.kill()
            process.wait()
        for ns in (found.client, found.server):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


def test_only_the_allowed_side_opens_and_only_to_the_allowed_port(pair: Pair) -> None:
    rules = [AllowRule(src="client", dst="server", port=8080)]
    assert pair.connects(pair.client, SERVER, 9090)  # open before protect
    pair.protect(pair.client, "client", rules)
    pair.protect(pair.server, "server", rules)
    assert pair.connects(pair.client, SERVER, 8080)
    assert not pair.connects(pair.client, SERVER, 9090)
    assert pair.connects(pair.server, "127.0.0.1", 9090)  # loopback inside stays open

    # The server's own table: its allowed port answers, never opens (a SYN is no reply).
    nftables.apply(Path(f"/run/netns/{pair.client}"), remove_commands())
    assert not pair.connects(pair.server, CLIENT, 7070, source_port=8081)
    assert not pair.connects(pair.server, CLIENT, 7070, source_port=8080)
    nftables.apply(Path(f"/run/netns/{pair.server}"), remove_commands())
    assert pair.connects(pair.server, CLIENT, 7070, source_port=8080)


def _counters(ns: str) -> dict[str, int]:
    """The namespace's TCP and UDP counters (/proc/net/snmp), as `Tcp.InSegs` and so on."""
    argv = ["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"]
    lines = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()
    found: dict[str, int] = {}
    for names, values in zip(lines[::2], lines[1::2], strict=True):
        protocol, *fields = names.split()
        numbers = map(int, values.split()[1:])
        found.update({f"{protocol[:-1]}.{k}": n for k, n in zip(fields, numbers, strict=True)})
    return found


def test_only_a_connections_opening_is_checked(pair: Pair) -> None:
    """Non-SYN TCP passes to the stack, which opens nothing for it; openings and UDP are checked."""
    rules = [AllowRule(src="client", dst="server", port=8080)]
    pair.protect(pair.server, "server", rules)  # the client stays open: it sends the fakes
    before = _counters(pair.server)
    argv = ["ip", "netns", "exec", pair.client, sys.executable, "-c", FAKES, CLIENT, SERVER]
    subprocess.run(argv + ["9090"], capture_output=True, check=True, timeout=10)
    after = poll_value(
        lambda: _counters(pair.server),
        lambda now: now["Tcp.OutRsts"] > before["Tcp.OutRsts"],
        10,
        "the server's RST to the fake ACK",
    )
    delta = {key: after[key] - before[key] for key in before}
    assert delta["Tcp.InSegs"] == 1  # the ACK; the SYN with ECN flags was dropped
    assert delta["Tcp.OutRsts"] == 1 and delta["Tcp.PassiveOpens"] == 0
    assert delta["Udp.InDatagrams"] == delta["Udp.NoPorts"] == 0  # the datagram was dropped
    assert not pair.connects(pair.client, SERVER, 9090)
    pair.protect(pair.client, "client", rules)
    assert pair.connects(pair.client, SERVER, 8080)  # its SYN-ACK and ACK need no lookup


def test_ipv6_has_its_own_table_with_the_same_rules(pair: Pair) -> None:
    """IPv6 is denied by default too; neighbour discovery and the allowed peer's port pass."""
    rules = [AllowRule(src="client", dst="server", port=8080)]
    stale = {"add": {"table": {"family": "inet", "name": TABLE}}}  # an earlier version's
    nftables.apply(Path(f"/run/netns/{pair.server}"), {"nftables": [stale]})
    pair.protect(pair.client, "client", rules)
    pair.protect(pair.server, "server", rules)
    listed = nftables.list_ruleset(Path(f"/run/netns/{pair.server}"))["nftables"]
    tables = {(t["table"]["family"], t["table"]["name"]) for t in listed if "table" in t}
    assert tables == {("ip", TABLE), ("ip6", TABLE)}
    subprocess.run(["ip", "-n", pair.client, "neigh", "flush", "all"], check=True)
    # after a neighbour solicitation; on a link this new, a protected namespace's first try
    # can take over a second (so it did with the earlier single inet table too)
    poll_until(lambda: pair.connects(pair.client, SERVER6, 8080), 10, "IPv6 to the allowed port")
    assert not pair.connects(pair.client, SERVER6, 9090)
    assert not pair.connects(pair.server, CLIENT6, 7070, source_port=8080)
    assert pair.connects(pair.client, SERVER, 8080)
