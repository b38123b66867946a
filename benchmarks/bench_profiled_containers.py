"""The whole agent's memory and CPU with 200 real profiled containers (goal: RSS <= 150 MB).

A platform is served on loopback by this process; a child process runs the real `Agent`
with its default detectors (rules, correlation, learned profiles) and the container
firewall on. This process then starts CONTAINERS busybox containers, each its own
workload group, each running a real exec of busybox every few seconds, so every group
has a profile to learn and every container a socket table for the firewall to read.
Once all run, the child measures its own CPU time over MEASURE_S seconds, and prints
its VmRSS, its peak (VmHWM) and how many groups its profile detector holds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.podman import Podman  # noqa: E402

from benchmarks.bench_sensor_rss import platform_on_loopback  # noqa: E402

CONTAINERS = 200
MEASURE_S = 60
PARALLEL_STARTS = 4
WORKLOAD = "while true; do /bin/busybox true; /bin/busybox sleep 5; done"
CHILD = """
import os, sys, threading, time
from pathlib import Path
from stockade.agent.daemon import Agent, AgentConfig
from stockade.profiles.detector import ProfileDetector
config = AgentConfig(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4],
                     scan_images=False, firewall=True)
agent = Agent(config)
stop = threading.Event()
runner = threading.Thread(target=agent.run, args=(stop,))
runner.start()
if not agent.ready.wait(120):
    sys.exit("agent did not become ready")
print("ready", flush=True)
measure = float(sys.stdin.readline())
def cpu():
    t = os.times()
    return t.user + t.system
started, wall = cpu(), time.monotonic()
time.sleep(measure)
used = (cpu() - started) / (time.monotonic() - wall) * 100
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
[profiles] = [d for d in agent.detectors if isinstance(d, ProfileDetector)]
print(status["VmRSS"].split()[0], status["VmHWM"].split()[0], f"{used:.1f}",
      len(profiles.book.profiles), len(profiles.containers), threading.active_count(), flush=True)
stop.set()
runner.join(60)
"""


def _start_containers(podman: Podman, image: str) -> list[str]:
    def start(index: int) -> str:
        label = ("--label", f"stockade.group=bench-profiled-{index}")
        return podman.run_detached(image, "sh", "-c", WORKLOAD, extra=label)

    with ThreadPoolExecutor(PARALLEL_STARTS) as pool:
        return list(pool.map(start, range(CONTAINERS)))


def _remove(podman: Podman, ids: list[str]) -> None:
    for start in range(0, len(ids), 50):
        podman.cmd("rm", "-f", "-t", "0", *ids[start : start + 50], check=False, timeout=600)


def main() -> int:
    """Start the agent, then the containers; print the agent's figures."""
    from stockade.sensor.bpf import BpfSource

    if reason := BpfSource.unavailable_reason():
        print(f"profiled_containers: skipped ({reason})")
        return 0
    podman = Podman()
    ids: list[str] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        platform_on_loopback(Path(tmp) / "p") as (url, token, pin),
    ):
        image = podman.build_busybox_image(Path(tmp))
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(Path(tmp) / "agent"), url, token, pin],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert child.stdin is not None and child.stdout is not None
        try:
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError("the agent did not start")
            started = time.monotonic()
            ids = _start_containers(podman, image)
            print(f"containers started: {len(ids)} in {time.monotonic() - started:.0f} s")
            child.stdin.write(f"{MEASURE_S}\n")
            child.stdin.flush()
            figures = child.stdout.readline().split()
            child.wait(120)
        finally:
            if child.poll() is None:
                child.kill()
            _remove(podman, ids)
    rss_kb, hwm_kb, cpu, groups, containers, threads = figures
    load = os.getloadavg()[0]
    print(f"agent with {CONTAINERS} profiled containers (defaults + firewall, {MEASURE_S} s,")
    print(f"  load average {load:.1f} at the end):")
    print(f"  rss: {int(rss_kb) / 1024:.1f} MB, peak {int(hwm_kb) / 1024:.1f} MB (goal <= 150 MB)")
    print(f"  cpu: {cpu} % of one core")
    print(f"  profile groups held: {groups}; containers seen: {containers}; threads: {threads}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
