"""Throughput cost of the eBPF sensor on a syscall-heavy server: redis on loopback.

Runs redis-benchmark against a local redis-server alternately without and with the
sensor (all default event types attached, events decoded in a separate process), and
prints the medians side by side with the slowdown. Goal: <= 3 %.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
import time

from stockade.sensor.bpf import BpfSource

ROUNDS = 5
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


def with_sensor(port: int) -> tuple[float, int, int]:
    """One benchmark run while a sensor process records and decodes every event."""
    sensor = subprocess.Popen(
        [sys.executable, "-c", SENSOR_LOOP],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert sensor.stdin is not None and sensor.stdout is not None
    assert sensor.stdout.readline().strip() == "ready"
    rate = requests_per_s(port)
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
        for _ in range(ROUNDS):
            base.append(requests_per_s(port))
            rate, n, d = with_sensor(port)
            sensed.append(rate)
            events, dropped = events + n, dropped + d
    finally:
        server.terminate()
        server.wait()
    b, s = statistics.median(base), statistics.median(sensed)
    print(f"redis without sensor: {b:.0f} requests/s")
    print(f"redis with sensor: {s:.0f} requests/s")
    print(f"slowdown: {(b - s) / b * 100:.1f} %")
    print(f"sensor events during runs: {events} (dropped {dropped})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
