"""Connection setup latency with the firewall's protect tables for 100 groups, on and off.

Pairs of network namespaces made here, each a client and a server joined by a veth pair,
all with the same addresses: one pair with no table ("off"), one whose namespaces hold
the protect tables of their group as `firewall.enforce` builds it, with allow rules to
and from 100 other groups (one address each, never contacted), the rule the measured
connection needs coming last (where rules are walked in order, the longest walk).
One server process listens in every server namespace (accepts and closes). One client
process times `connect()` (SYN to SYN-ACK, closed with RST) in turn through every pair,
its sockets made in each client namespace (`setns`), the pairs in a new shuffled order
on every turn (seeded: the same orders every run): the machine's load, which on a
shared machine moves more between seconds than the tables cost, falls on every pair
alike, and no pair always follows the same one (in a fixed or reversed order, the pair
right after "off" measured ~0.5 % dearer than the same table in another place). The
tables move on to the next pair every round (the "off" pair's absence of them too), so
that what a pair of namespaces costs of itself (pairs holding the same table differed
by up to ~0.7 % in one run) and its place in the seeded orders fall on every variant
alike. The client is
pinned to one CPU and the server to another (where there are two): over veth the whole
handshake runs in the client's context, and a server sharing its CPU is woken inside
connect() and runs its accept() within the timed call (which then took ~45 us instead
of ~16 us, hiding the tables' cost in a larger base).

Per round (`CONNECTS` connections per pair) the added percentage is the pair's median
connect() wall time against the "off" pair's; the goal's figure (<= 5 %) is
`connect_added_median`, the median over `ROUNDS` rounds. Also printed: the client's CPU
time per connect() (the handshake's work in its context; waits for a CPU not counted),
added per round the same way.

`--floor` adds two pairs measuring the tables' parts: `hooks` (the tables' base chains
with policy accept and no rule: the cost of being hooked at all) and `first-rule` (each
base chain with policy accept and only its rules up to the first that accepts: the one
sending all but TCP to another chain, then the one accepting any TCP packet but a
connection's opening SYN: what every packet of the handshake but the SYN costs).

`--ab NAMES` adds a pair per other layout of the same policy (`firewall_layouts.py`), to
compare layouts in one run: each is also given against the tables as applied, as the
median over rounds of the difference of the two added percentages in the same round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from benchmarks.firewall_layouts import LAYOUTS  # noqa: E402
from stockade.firewall.allowlist import AllowRule  # noqa: E402
from stockade.firewall.nftrules import protect_commands, remove_commands  # noqa: E402
from stockade.respond import nftables  # noqa: E402

JsonObj = dict[str, Any]
GROUPS = 100
CONNECTS = 1000  # per pair and round; below the listeners' backlog (drained between rounds)
ROUNDS = 20
PORT = 8080
_SETNS = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def setns(path):
    fd = os.open(path, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:
        raise OSError(ctypes.get_errno(), "setns " + path)
    os.close(fd)
"""
SERVER = f"""{_SETNS}
import select, socket, sys
os.sched_setaffinity(0, {{int(sys.argv[1])}})
listeners = []
for path in sys.argv[2:]:
    setns(path)
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", {PORT})); s.listen(4096); listeners.append(s)
print("ready", flush=True)
while True:
    for s in select.select(listeners, [], [])[0]:
        c, _ = s.accept(); c.close()
"""
CLIENT = f"""{_SETNS}
import json, random, socket, struct, sys, time
os.sched_setaffinity(0, {{int(sys.argv[1])}})
linger = struct.pack("ii", 1, 0)
pairs = sys.argv[2:]
walls = {{p: [] for p in pairs}}; cpus = {{p: 0 for p in pairs}}
shuffled = random.Random(0)
for i in range({CONNECTS}):
    order = pairs[:]; shuffled.shuffle(order)
    for path in order:
        setns(path)
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        c = time.thread_time_ns(); t = time.perf_counter_ns()
        s.connect(("10.253.0.2", {PORT}))
        walls[path].append(time.perf_counter_ns() - t); cpus[path] += time.thread_time_ns() - c
        s.close()
print(json.dumps({{p: [sorted(w)[len(w) // 2], cpus[p] // {CONNECTS}] for p, w in walls.items()}}))
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _pair(tag: str) -> tuple[str, str]:
    """A client and a server namespace joined by a veth pair (10.253.0.1 -> 10.253.0.2)."""
    client, server = f"sfwc-{tag}", f"sfws-{tag}"
    _ip("netns", "add", client)
    _ip("netns", "add", server)
    _ip("link", "add", "c0", "netns", client, "type", "veth", "peer", "s0", "netns", server)
    for ns, link, address in ((client, "c0", "10.253.0.1/24"), (server, "s0", "10.253.0.2/24")):
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


def _adds(command: JsonObj, kind: str) -> bool:
    return kind in command.get("add", {})


def _is_base_chain(command: JsonObj) -> bool:
    return "hook" in command.get("add", {}).get("chain", {})


def _accepting(command: JsonObj) -> JsonObj:
    """A base chain's command with policy accept (anything else as it is)."""
    if not _is_base_chain(command):
        return command
    return {"add": {"chain": {**command["add"]["chain"], "policy": "accept"}}}


def whole(table: JsonObj) -> JsonObj:
    """The protect tables as the firewall applies them."""
    return table


def hooks_only(table: JsonObj) -> JsonObj:
    """The tables' base chains alone, policy accept: what being hooked at all costs."""
    kept = [
        _accepting(c)
        for c in table["nftables"]
        if not any(_adds(c, kind) for kind in ("rule", "set", "map"))
        and (not _adds(c, "chain") or _is_base_chain(c))
    ]
    return {"nftables": kept}


def first_rule(table: JsonObj) -> JsonObj:
    """The tables' base chains, policy accept, each with its rules up to the first that
    accepts (what a TCP packet but an opening passes); the chains they jump to, empty."""
    kept = hooks_only(table)["nftables"]
    kept += [c for c in table["nftables"] if _adds(c, "chain") and not _is_base_chain(c)]
    bases = {(c["add"]["chain"]["family"], c["add"]["chain"]["name"]) for c in kept
             if _is_base_chain(c)}  # fmt: skip
    for command in (c for c in table["nftables"] if _adds(c, "rule")):
        rule = command["add"]["rule"]
        if (rule["family"], rule["chain"]) in bases:
            kept.append(command)
            if "accept" in rule["expr"][-1]:
                bases.discard((rule["family"], rule["chain"]))
    return {"nftables": kept}


Variant = Callable[[JsonObj], JsonObj]
FLOOR: dict[str, Variant] = {"hooks": hooks_only, "first-rule": first_rule}


def _round(clients: dict[str, str], cpu: int) -> dict[str, tuple[int, int]]:
    """One client run: per pair, the median connect() wall time and CPU per connect (ns)."""
    paths = [f"/run/netns/{ns}" for ns in clients.values()]
    out = subprocess.run([sys.executable, "-c", CLIENT, str(cpu), *paths],
                         check=True, capture_output=True, text=True)  # fmt: skip
    found = json.loads(out.stdout)
    return {name: tuple(found[f"/run/netns/{ns}"]) for name, ns in clients.items()}


def _place(
    variants: dict[str, Variant | None], pairs: list[tuple[str, str]], shift: int
) -> dict[str, str]:
    """Give the i-th variant's tables to pair `(i + shift) % n`; each variant's client netns,
    in the pairs' order (so that every variant takes every place in the client's turns)."""
    rules, addresses = _rules()
    tables = {group: protect_commands(group, rules, addresses) for group in ("client", "server")}
    names = list(variants)
    clients = {}
    for k, pair in enumerate(pairs):
        name = names[(k - shift) % len(names)]
        for ns, group in zip(pair, ("client", "server"), strict=True):
            variant = variants[name]
            table = remove_commands() if variant is None else variant(tables[group])
            nftables.apply(Path(f"/run/netns/{ns}"), table)
        clients[name] = pair[0]
    return clients


def _added(rounds: list[dict[str, tuple[int, int]]], name: str, index: int) -> list[float]:
    return [(r[name][index] - r["off"][index]) / r["off"][index] * 100 for r in rounds]


def _print(name: str, rounds: list[dict[str, tuple[int, int]]]) -> None:
    prefix = "connect" if name == "whole" else f"{name}: connect"
    wall, cpu = _added(rounds, name, 0), _added(rounds, name, 1)
    median_us = {n: statistics.median(r[n][0] for r in rounds) / 1000 for n in ("off", name)}
    print(f"{prefix}_median: off {median_us['off']:.1f} us, on {median_us[name]:.1f} us")
    print(f"{prefix}_added_per_round: {sorted(round(a, 1) for a in wall)} %")
    tail = " (goal <= 5 %)" if name == "whole" else ""
    print(f"{prefix}_added_median: {statistics.median(wall):+.1f} %{tail}")
    print(f"{prefix}_cpu_added_median: {statistics.median(cpu):+.1f} %"
          f" (per round {sorted(round(a, 1) for a in cpu)})")  # fmt: skip
    if name in LAYOUTS:  # paired with the tables as applied, round by round
        against = [a - w for a, w in zip(wall, _added(rounds, "whole", 0), strict=True)]
        dearer = sum(d > 0 for d in against)
        print(f"{name}: against whole: {statistics.median(against):+.2f} points"
              f" (median of rounds; dearer in {dearer} of {len(against)})")  # fmt: skip


def main() -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", action="store_true", help="also time the tables' parts")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="client runs")
    parser.add_argument("--ab", default="", metavar="NAMES",
                        help=f"also time other layouts, comma-separated ({', '.join(LAYOUTS)}"
                             " or all; see benchmarks/firewall_layouts.py)")  # fmt: skip
    args = parser.parse_args()
    cpus = os.sched_getaffinity(0)
    client_cpu, server_cpu = max(cpus), min(cpus)
    variants: dict[str, Variant | None] = {"off": None, "whole": whole}
    if args.floor:
        variants.update(FLOOR)
    names = list(LAYOUTS) if args.ab == "all" else [n for n in args.ab.split(",") if n]
    unknown = [n for n in names if n not in LAYOUTS]
    if unknown:
        parser.error(f"--ab: no layout named {', '.join(unknown)} (known: {', '.join(LAYOUTS)})")
    variants.update({name: LAYOUTS[name] for name in names})
    tag = uuid.uuid4().hex[:6]
    pairs: list[tuple[str, str]] = []
    listener: subprocess.Popen[str] | None = None
    try:
        pairs += [_pair(f"{tag}{i}") for i in range(len(variants))]
        servers = [f"/run/netns/{server}" for _, server in pairs]
        listener = subprocess.Popen([sys.executable, "-c", SERVER, str(server_cpu), *servers],
                                    stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
        load = os.getloadavg()[0]
        _round(_place(variants, pairs, 0), client_cpu)  # warm-up
        rounds = [_round(_place(variants, pairs, r), client_cpu) for r in range(args.rounds)]
        load = max(load, os.getloadavg()[0])
        print(f"groups: {GROUPS}; connects per pair and round: {CONNECTS}")
        print(f"rounds: {args.rounds}; client on CPU {client_cpu}, server on CPU {server_cpu};"
              f" load average: up to {load:.1f}")  # fmt: skip
        for name in variants:
            if name != "off":
                _print(name, rounds)
    finally:
        if listener is not None:
            listener.kill()
            listener.wait()
        for ns in (ns for pair in pairs for ns in pair):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


if __name__ == "__main__":
    main()
