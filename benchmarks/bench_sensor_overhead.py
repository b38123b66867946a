"""Throughput cost of the eBPF sensor on a syscall-heavy server: redis on loopback.

Runs redis-benchmark against a local redis-server alternately without and with the
sensor (all default event types attached, events decoded in a separate process), and
prints the medians side by side with the slowdown. Goal: <= 3 %.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

from stockade.sensor.bpf import BpfSource

ROUNDS = 8
COSTS_WITH: list[tuple[float, float]] = []
COSTS_WITHOUT: list[tuple[float, float]] = []
REQUESTS = 100_000
SENSOR_LOOP = """
import select, sys
from stockade.sensor.bpf import BpfSource
source = BpfSource()
source.start()
print("ready", flush=True)
events = 0
while not select.select([sys.stdin], [], [], 0)[0]:
    events += len(source.poll(0.1))
print(events, source.stats().dropped, flush=True)
source.stop()
"""


def free_port() -> int:
    """A TCP port free on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def requests_per_s(port: int) -> float:
    """Mean of SET and GET requests/s reported by one redis-benchmark run."""
    out = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", str(REQUESTS),
         "-c", "20", "-t", "set,get", "--csv"],
        check=True, capture_output=True, text=True, timeout=300,
    ).stdout  # fmt: skip
    rates = [float(line.split(",")[1].strip('"')) for line in out.splitlines()[1:] if line]
    return statistics.mean(rates)


def syscall_cost_ns(n: int = 20_000) -> tuple[float, float]:
    """CPU ns per open+close of /dev/null (traced) and per getppid (not traced).

    Thread CPU time includes the kernel time of the calls (and of the BPF programs they
    trigger), so this figure holds up on a busy machine where wall-clock rates do not.
    """
    start = time.thread_time_ns()
    for _ in range(n):
        os.close(os.open("/dev/null", os.O_RDONLY))
    traced = (time.thread_time_ns() - start) / n
    start = time.thread_time_ns()
    for _ in range(n):
        os.getppid()
    return traced, (time.thread_time_ns() - start) / n


def with_sensor(port: int) -> tuple[float, int, int]:
    """One benchmark run while a sensor process records and decodes every event."""
    sensor = subprocess.Popen(
        [sys.executable, "-c", SENSOR_LOOP],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert sensor.stdin is not None and sensor.stdout is not None
    assert sensor.stdout.readline().strip() == "ready"
    rate = requests_per_s(port)
    COSTS_WITH.append(syscall_cost_ns())
    sensor.stdin.write("stop\n")
    sensor.stdin.flush()
    events, dropped = (int(x) for x in sensor.stdout.readline().split())
    sensor.wait(timeout=120)
    return rate, events, dropped


def main() -> int:
    """Alternate runs without and with the sensor; print medians and slowdown."""
    if reason := BpfSource.unavailable_reason():
        print(f"sensor_overhead: skipped ({reason})")
        return 0
    if not (shutil.which("redis-server") and shutil.which("redis-benchmark")):
        print("sensor_overhead: skipped (redis-server/redis-benchmark not installed)")
        return 0
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        requests_per_s(port)  # warm-up
        base, sensed, events, dropped = [], [], 0, 0
        for i in range(ROUNDS):
            # Alternate which goes first so drift on a shared machine does not favour one.
            if i % 2:
                base.append(requests_per_s(port))
                COSTS_WITHOUT.append(syscall_cost_ns())
            rate, n, d = with_sensor(port)
            sensed.append(rate)
            events, dropped = events + n, dropped + d
            if not i % 2:
                base.append(requests_per_s(port))
                COSTS_WITHOUT.append(syscall_cost_ns())
    finally:
        server.terminate()
        server.wait()
    b, s = statistics.median(base), statistics.median(sensed)
    print(f"redis without sensor: {b:.0f} requests/s")
    print(f"redis with sensor: {s:.0f} requests/s")
    print(f"slowdown: {(b - s) / b * 100:.1f} %")
    spread = max(base) / min(base) - 1
    print(f"run-to-run spread without sensor: {spread * 100:.0f} % (max/min - 1)")
    print(
        "per-round requests/s (without, with): "
        + ", ".join(f"({x:.0f}, {y:.0f})" for x, y in zip(base, sensed, strict=True))
    )
    print(f"sensor events during runs: {events} (dropped {dropped})")
    for label, idx in (("open+close (traced)", 0), ("getppid (not traced)", 1)):
        off = statistics.median(c[idx] for c in COSTS_WITHOUT)
        on = statistics.median(c[idx] for c in COSTS_WITH)
        print(f"{label} cpu without sensor: {off:.0f} ns")
        print(f"{label} cpu with sensor: {on:.0f} ns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
