"""Connection setup latency with the firewall's protect tables for 100 groups, on and off.

Two network namespaces made here, joined by a veth pair: a client and a server (a Python
listener that accepts and closes). With the tables on, both namespaces hold the protect
table of their group as `firewall.enforce` builds it, with allow rules to and from 100
other groups (one address each, never contacted), the rule the measured connection needs
coming last in its chain (the longest walk a new connection makes). Rounds come in
blocks of off, on, on, off (ABBA) so drift on a shared machine falls on both sides; each
round times `connect()` (SYN to SYN-ACK, closed with RST) `CONNECTS` times and keeps the
median. Printed: the median of each side's round medians, and the median over blocks of
the block's added percentage (on vs off within one block: the figure least moved by the
machine's load, which here varies more between rounds than the tables cost; goal <= 5 %).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from stockade.firewall.allowlist import AllowRule  # noqa: E402
from stockade.firewall.nftrules import protect_commands, remove_commands  # noqa: E402
from stockade.respond import nftables  # noqa: E402

GROUPS = 100
CONNECTS = 1000
BLOCKS = 10  # ABBA blocks: off, on, on, off
PORT = 8080
SERVER = f"""
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", {PORT})); s.listen(4096); print("ready", flush=True)
while True:
    c, _ = s.accept(); c.close()
"""
CLIENT = f"""
import socket, struct, time
linger = struct.pack("ii", 1, 0)
times = []
cpu = time.thread_time_ns()
for _ in range({CONNECTS}):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    t = time.perf_counter_ns(); s.connect(("10.253.0.2", {PORT}))
    times.append(time.perf_counter_ns() - t); s.close()
cpu = time.thread_time_ns() - cpu
times.sort(); print(times[len(times) // 2], cpu // {CONNECTS})
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _namespaces(tag: str) -> tuple[str, str]:
    client, server = f"sfwc-{tag}", f"sfws-{tag}"
    _ip("netns", "add", client)
    _ip("netns", "add", server)
    _ip(
        "link",
        "add",
        f"vc{tag}",
        "netns",
        client,
        "type",
        "veth",
        "peer",
        f"vs{tag}",
        "netns",
        server,
    )
    for ns, link, address in (
        (client, f"vc{tag}", "10.253.0.1/24"),
        (server, f"vs{tag}", "10.253.0.2/24"),
    ):
        _ip("-n", ns, "addr", "add", address, "dev", link)
        _ip("-n", ns, "link", "set", link, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
    return client, server


def _rules() -> tuple[list[AllowRule], dict[str, list[str]]]:
    """100 other groups talking to both sides, then the measured client -> server rule."""
    addresses: dict[str, list[str]] = {"client": ["10.253.0.1"], "server": ["10.253.0.2"]}
    rules: list[AllowRule] = []
    for i in range(GROUPS):
        group = f"g{i}"
        addresses[group] = [f"10.253.{1 + i // 250}.{1 + i % 250}"]
        rules.append(AllowRule(src="client", dst=group, port=9000 + i))
        rules.append(AllowRule(src=group, dst="server", port=PORT))
    rules.append(AllowRule(src="client", dst="server", port=PORT))
    return rules, addresses


def _median_connect(client: str) -> tuple[int, int]:
    """The round's median connect() wall time and its CPU time per connection (ns)."""
    out = subprocess.run(["ip", "netns", "exec", client, sys.executable, "-c", CLIENT],
                         check=True, capture_output=True, text=True)  # fmt: skip
    wall, cpu = out.stdout.split()
    return int(wall), int(cpu)


def main() -> None:
    """Measure and print the figures."""
    tag = uuid.uuid4().hex[:6]
    client, server = _namespaces(tag)
    listener = subprocess.Popen(["ip", "netns", "exec", server, sys.executable, "-c", SERVER],
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
        rules, addresses = _rules()
        tables = {
            ns: protect_commands(group, rules, addresses)
            for ns, group in ((client, "client"), (server, "server"))
        }
        rule_count = sum(1 for c in tables[server]["nftables"] if "rule" in c.get("add", {}))
        side: dict[bool, list[int]] = {False: [], True: []}
        cpu: dict[bool, list[int]] = {False: [], True: []}
        added: list[float] = []
        load = os.getloadavg()[0]
        _median_connect(client)  # warm-up
        for _ in range(BLOCKS):
            block: dict[bool, list[int]] = {False: [], True: []}
            for on in (False, True, True, False):
                for ns, commands in tables.items():
                    nftables.apply(Path(f"/run/netns/{ns}"), commands if on else remove_commands())
                wall, per_connect = _median_connect(client)
                block[on].append(wall)
                cpu[on].append(per_connect)
            side[False] += block[False]
            side[True] += block[True]
            added.append((sum(block[True]) - sum(block[False])) / sum(block[False]) * 100)
        load = max(load, os.getloadavg()[0])
        off, on_ = statistics.median(side[False]), statistics.median(side[True])
        cpu_off, cpu_on = statistics.median(cpu[False]), statistics.median(cpu[True])
        print(f"groups: {GROUPS}; server table rules: {rule_count}; connects/round: {CONNECTS}")
        print(f"load average: up to {load:.1f}")
        print(f"connect_median_off: {off / 1000:.1f} us")
        print(f"connect_median_on: {on_ / 1000:.1f} us")
        print(f"connect_added_per_block: {sorted(round(a, 1) for a in added)} %")
        print(f"connect_added_median: {statistics.median(added):+.1f} % (goal <= 5 %)")
        print(
            f"connect_cpu_per_connection: off {cpu_off / 1000:.1f} us, on {cpu_on / 1000:.1f} us"
            f" ({(cpu_on - cpu_off) / cpu_off * 100:+.1f} %: the client's CPU time, the whole"
            " handshake runs in its context over veth; waits for a CPU do not count)"
        )
    finally:
        listener.kill()
        listener.wait()
        for ns in (client, server):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


if __name__ == "__main__":
    main()
