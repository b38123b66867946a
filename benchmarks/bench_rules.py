"""Rule engine figures: load + compile time of Falco's stable + incubating rules, and events/s.

The stream mixes event kinds as a busy host does (opens ~70%, execs ~10%, connects ~15%,
others ~5%), with realistic paths, process trees and a share of container events.
Prints medians in `name: value unit` form.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

from stockade.model import Ancestor, Event, FdInfo, Process
from stockade.model.entities import Container
from stockade.rules import load_rules

CORPUS = Path(
    os.environ.get("STOCKADE_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
)
RULE_FILES = [
    CORPUS / "falco/rules/falco_rules.yaml",
    CORPUS / "falco/rules/falco-incubating_rules.yaml",
]
PROCS = [
    ("nginx", "/usr/sbin/nginx"),
    ("python3", "/usr/bin/python3.11"),
    ("node", "/usr/local/bin/node"),
    ("java", "/usr/lib/jvm/bin/java"),
    ("bash", "/bin/bash"),
    ("sh", "/bin/sh"),
    ("cat", "/bin/cat"),
    ("postgres", "/usr/lib/postgresql/15/bin/postgres"),
    ("systemd", "/lib/systemd/systemd"),
    ("sshd", "/usr/sbin/sshd"),
]
PATHS = [
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/etc/ld.so.cache",
    "/proc/self/status",
    "/proc/12/cmdline",
    "/var/log/nginx/access.log",
    "/tmp/tmpa8f3k2",
    "/etc/passwd",
    "/etc/hosts",
    "/usr/share/zoneinfo/UTC",
    "/app/node_modules/lodash/index.js",
    "/home/user/.bashrc",
    "/etc/shadow",
    "/bin/ls",
    "/var/lib/postgresql/15/main/base/1/1259",
]


def _stream(n: int, seed: int = 7) -> list[Event]:
    rng = random.Random(seed)
    containers = [Container.host()] + [
        Container(id=f"{i:02x}" * 32, name=f"c{i}", image_repository=f"repo/app{i}")
        for i in range(4)
    ]
    events: list[Event] = []
    for i in range(n):
        name, exe = rng.choice(PROCS)
        parent, pexe = rng.choice(PROCS)
        proc = Process(
            pid=1000 + i % 500,
            name=name,
            exepath=exe,
            argv=(name, "-c", "run") if rng.random() < 0.5 else (name,),
            uid=rng.choice((0, 1000)),
            euid=rng.choice((0, 1000)),
            loginuid=rng.choice((-1, 1000)),
            user=rng.choice(("root", "app")),
            tty=rng.choice((0, 0, 0, 34816)),
        )
        ancestors = (Ancestor(pid=900, name=parent, exepath=pexe), Ancestor(pid=1, name="systemd"))
        container = rng.choice(containers)
        roll = rng.random()
        if roll < 0.70:
            flags = rng.choice((0, 0, 0o1, 0o101, 0o2))
            fd = FdInfo(num=rng.randint(3, 60), type="file", name=rng.choice(PATHS), flags=flags)
            event = Event(
                type="openat",
                ts=i,
                proc=proc,
                container=container,
                ancestors=ancestors,
                fd=fd,
                res=fd.num,
            )
        elif roll < 0.80:
            event = Event(type="execve", ts=i, proc=proc, container=container, ancestors=ancestors)
        elif roll < 0.95:
            fd = FdInfo(
                num=5,
                type="ipv4",
                l4proto="tcp",
                sip="10.88.0.5",
                sport=40000 + i % 999,
                dip=rng.choice(("10.88.0.9", "93.184.216.34", "127.0.0.1")),
                dport=rng.choice((80, 443, 5432, 4444)),
            )
            fd.name = f"{fd.sip}:{fd.sport}->{fd.dip}:{fd.dport}"
            event = Event(
                type="connect",
                ts=i,
                proc=proc,
                container=container,
                ancestors=ancestors,
                fd=fd,
                res=rng.choice((0, -115)),
            )
        else:
            kind = rng.choice(("unlinkat", "renameat2", "setuid", "clone", "mkdirat"))
            event = Event(
                type=kind,
                ts=i,
                proc=proc,
                container=container,
                ancestors=ancestors,
                args={"name": rng.choice(PATHS), "path": rng.choice(PATHS)},
            )
        events.append(event)
    return events


def main() -> int:
    """Measure and print the figures."""
    if not RULE_FILES[0].is_file():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    load_times = []
    for _ in range(5):
        started = time.perf_counter()
        ruleset = load_rules(RULE_FILES)
        load_times.append(time.perf_counter() - started)
    assert not ruleset.errors, ruleset.errors
    print(f"rules_loaded: {len(ruleset.rules)} rules")
    print(f"load_compile_time: {statistics.median(load_times) * 1000:.0f} ms")

    events = _stream(50_000)
    rates, alerts = [], 0
    for _ in range(5):
        started = time.perf_counter()
        alerts = 0
        for event in events:
            alerts += len(ruleset.evaluate(event))
        rates.append(len(events) / (time.perf_counter() - started))
    print(f"evaluate_events_per_s: {statistics.median(rates):,.0f} events/s")
    print(f"alerts_per_pass: {alerts} alerts")
    print("falco_reference: 250,000 syscalls/s on one CPU (published figure)")
    print(f"ratio_vs_falco: {statistics.median(rates) / 250_000:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
