"""Figures for Sigma import and Stockade's default rules.

- time to translate and compile the Linux Sigma rules of the corpus (process_creation,
  file_event, network_connection, auditd), with per-rule compile verification;
- events/s through the imported Sigma rules and through the default rules, on a stream of
  execs (30%), opens (50%) and connects (20%), half of them in containers.

Prints medians in `name: value unit` form.
"""

from __future__ import annotations

import random
import statistics
import time

from benchmarks.corpus import CORPUS
from stockade.model import Ancestor, Event, FdInfo, Process
from stockade.model.entities import Container
from stockade.rules import Ruleset, load_rules
from stockade.rules.default import default_rule_paths
from stockade.rules.sigma import load_sigma_rules

SIGMA = CORPUS / "sigma" / "rules" / "linux"
CATEGORIES = ("process_creation", "file_event", "network_connection", "auditd")
COMMANDS = [
    ("nginx", "/usr/sbin/nginx", ("nginx", "-g", "daemon off;")),
    ("python3", "/usr/bin/python3.11", ("python3", "app.py")),
    ("sh", "/bin/sh", ("sh", "-c", "ls -la /tmp")),
    ("curl", "/usr/bin/curl", ("curl", "-s", "http://10.88.0.7/health")),
    ("grep", "/bin/grep", ("grep", "-r", "TODO", "/app")),
    ("bash", "/bin/bash", ("bash",)),
]
PATHS = ["/etc/hosts", "/usr/lib/libc.so.6", "/app/data.db", "/tmp/x", "/etc/shadow", "/bin/ls"]
REPEATS = 3
EVENTS = 10_000


def _stream(n: int, seed: int = 11) -> list[Event]:
    rng = random.Random(seed)
    containers = [Container.host()] + [
        Container(id=f"{i:02x}" * 32, name=f"c{i}", image_repository=f"repo/app{i}")
        for i in range(3)
    ]
    events: list[Event] = []
    for i in range(n):
        name, exe, argv = rng.choice(COMMANDS)
        proc = Process(pid=1000 + i % 700, name=name, exepath=exe, argv=argv, uid=0, euid=0)
        event = Event(
            type="execve",
            ts=1_000_000_000 + i,
            proc=proc,
            container=containers[i % 2 and rng.randrange(1, 4)],
            ancestors=(Ancestor(pid=900, name="bash", exepath="/bin/bash", argv=("bash",)),),
            seq=i + 1,
        )
        roll = rng.random()
        if roll < 0.5:
            event.type = "openat"
            event.args = {"flags": rng.choice(("O_RDONLY", "O_WRONLY|O_CREAT"))}
            event.fd = FdInfo(num=3, type="file", name=rng.choice(PATHS))
        elif roll < 0.7:
            event.type = "connect"
            dip = rng.choice(("10.88.0.7", "203.0.113.10"))
            event.fd = FdInfo(
                num=4,
                type="ipv4",
                l4proto="tcp",
                sip="10.88.0.5",
                sport=40000,
                dip=dip,
                dport=rng.choice((80, 443, 3333)),
            )
        events.append(event)
    return events


def _events_per_second(ruleset: Ruleset, events: list[Event]) -> float:
    rates = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        for event in events:
            ruleset.evaluate(event)
        rates.append(len(events) / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> None:
    """Measure and print."""
    timings = []
    result = None
    for _ in range(3):
        started = time.perf_counter()
        result = load_sigma_rules([SIGMA / c for c in CATEGORIES])
        timings.append(time.perf_counter() - started)
    assert result is not None
    print(f"sigma_rules_loaded: {len(result.rules)} rules")
    print(f"sigma_rules_refused: {len(result.refused)} rules")
    print(f"sigma_import_median: {statistics.median(timings) * 1000:.0f} ms")
    per_rule = statistics.median(timings) / (len(result.rules) + len(result.refused))
    print(f"sigma_import_per_rule: {per_rule * 1000:.2f} ms")
    events = _stream(EVENTS)
    sigma = load_rules([], sources=result.sources())
    print(f"sigma_ruleset_eval: {_events_per_second(sigma, events):.0f} events/s")
    default = load_rules(default_rule_paths())
    print(f"default_ruleset_eval: {_events_per_second(default, events):.0f} events/s")
    both = load_rules(default_rule_paths(), sources=result.sources())
    print(f"default_plus_sigma_eval: {_events_per_second(both, events):.0f} events/s")


if __name__ == "__main__":
    main()
