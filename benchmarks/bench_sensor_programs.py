"""What a redis request pays the eBPF sensor for: which programs run, and what reaches user space.

The sensor is attached with the event types the agent's rules need (as
bench_sensor_overhead does; STOCKADE_BENCH_FALCO_RULES=1 adds Falco's stable and
incubating rules), kernel.bpf_stats_enabled is set for the run, and one redis-benchmark
run (SET and GET, 20 connections) goes through a redis-server on loopback. Printed per
request: each program's runs and BPF time (bpftool's run_cnt / run_time_ns, the host's
other activity included, so the lifecycle and open programs show the host's background),
and the events of redis-server and redis-benchmark that reached user space, by type.
BPF time is CPU time inside the traced calls, so the load of a shared machine skews it
less than wall rates; the fixed cost of the syscall tracing slow path that every call
pays once any syscall tracepoint is attached (bench_sensor_overhead's "getppid (not
traced)" line) is not in it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from tests.support.ports import free_port

from benchmarks.bench_sensor_overhead import REDIS_CPU, bench_rule_paths, redis_server

REQUESTS = 30_000
STATS = Path("/proc/sys/kernel/bpf_stats_enabled")
REDIS = ("redis-server", "redis-benchmark")


def program_stats() -> dict[int, tuple[str, int, int]]:
    """Every loaded BPF program: id -> (name, run_cnt, run_time_ns)."""
    out = subprocess.run(
        ["bpftool", "prog", "show", "--json"], check=True, capture_output=True, text=True
    ).stdout
    return {p["id"]: (p.get("name", ""), p.get("run_cnt", 0), p.get("run_time_ns", 0))
            for p in json.loads(out)}  # fmt: skip


def main() -> int:
    """Attach, run redis-benchmark once with BPF statistics on, print the per-request figures."""
    from stockade.agent.detection import agent_detectors, event_types_needed, fd_kinds_needed
    from stockade.sensor.bpf import BpfSource

    if reason := BpfSource.unavailable_reason():
        print(f"sensor_programs: skipped ({reason})")
        return 0
    if not all(shutil.which(tool) for tool in (*REDIS, "bpftool")):
        print("sensor_programs: skipped (redis-server, redis-benchmark or bpftool missing)")
        return 0
    detectors = agent_detectors(rule_paths=bench_rule_paths())
    types = event_types_needed(detectors)
    source = BpfSource(types)
    source.set_fd_kinds(fd_kinds_needed(detectors, types))
    port = free_port()
    server = redis_server(port)
    seen: Counter[tuple[str, str]] = Counter()
    done = threading.Event()

    def drain() -> None:
        while not done.is_set():
            for e in source.poll(0.05):
                if e.proc.name in REDIS:
                    seen[(str(e.type), e.proc.name)] += 1

    was = STATS.read_text().strip()
    source.start()
    reader = threading.Thread(target=drain)
    reader.start()
    try:
        STATS.write_text("1")
        time.sleep(0.5)  # redis-server up; the sensor's start-up events drained
        seen.clear()
        before = program_stats()
        subprocess.run(
            ["taskset", "-c", str(REDIS_CPU), "redis-benchmark", "-h", "127.0.0.1", "-p",
             str(port), "-n", str(REQUESTS), "-c", "20", "-t", "set,get", "--csv"],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        after = program_stats()
        time.sleep(0.5)  # the last records drained
    finally:
        STATS.write_text(was)
        done.set()
        reader.join()
        source.stop()
        server.terminate()
        server.wait()
    report(before, after, seen, len(types))
    return 0


def report(
    before: dict[int, tuple[str, int, int]],
    after: dict[int, tuple[str, int, int]],
    seen: Counter[tuple[str, str]],
    types: int,
) -> None:
    """Print runs and BPF ns per request by program, and redis's events by type."""
    requests = 2 * REQUESTS  # SET and GET
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"event types attached: {types}; requests: {requests}")
    total = 0
    for pid, (name, runs, ns) in sorted(after.items(), key=lambda kv: -kv[1][2]):
        runs -= before.get(pid, (name, 0, 0))[1]
        ns -= before.get(pid, (name, 0, 0))[2]
        if runs <= 0 or pid not in before:
            continue
        total += ns
        if runs / requests >= 0.001:
            print(f"program {name}: {runs / requests:.3f} runs/request, "
                  f"{ns / runs:.0f} ns/run, {ns / requests:.1f} ns/request")  # fmt: skip
    print(f"bpf time per request, all programs: {total / requests:.0f} ns")
    for (kind, name), count in seen.most_common():
        print(f"events to user space: {kind} by {name}: {count / requests:.4f} per request")
    print(f"events to user space per request (redis): {sum(seen.values()) / requests:.4f}")


if __name__ == "__main__":
    sys.exit(main())
