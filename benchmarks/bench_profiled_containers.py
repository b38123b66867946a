"""The whole agent's memory and CPU with 200 real profiled containers (goal: RSS <= 150 MB).

A platform is served on loopback by this process; a child process runs the real `Agent`
with its default detectors (rules, correlation, learned profiles) and the container
firewall on. This process then starts CONTAINERS busybox containers, each its own
workload group, each running a real exec of busybox every few seconds, so every group
has a profile to learn and every container a socket table for the firewall to read.
Once all run, the child measures its own CPU time over MEASURE_S seconds, and prints
its VmRSS, its peak (VmHWM) and how many groups its profile detector holds.

With `--breakdown`, the containers start in steps (0, 50, 100, 200) and the child's
resident memory is broken down by mapping kind at each (benchmarks/rss_breakdown.py);
with `--tracemalloc` too, the child also prints (to stderr) the Python allocations that
grew most between steps; with `--pymalloc`, Python's allocator statistics;
with `--census`, the object types whose count grew most (both to stderr).
Environment variables such as MALLOC_ARENA_MAX reach the child.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
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
import gc, os, sys, threading, time, tracemalloc
from collections import Counter
from pathlib import Path
if sys.argv[5] == "1":
    tracemalloc.start(25)
from stockade.agent.daemon import Agent, AgentConfig
from stockade.profiles.detector import ProfileDetector
config = AgentConfig(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4],
                     scan_images=False, firewall=True)
agent = Agent(config)
stop = threading.Event()
runner = threading.Thread(target=agent.run, args=(stop,), daemon=True)
runner.start()
if not agent.ready.wait(120):
    sys.exit("agent did not become ready")
print("ready", flush=True)
counted = Counter()
last = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
def owner(trace):
    mine = [f for f in trace if "/stockade/" in f.filename][-3:]
    return " < ".join(f"{f.filename.split('/stockade/')[-1]}:{f.lineno}" for f in reversed(mine))
while (line := sys.stdin.readline().strip()) == "step":
    if last is not None:
        now, grown = tracemalloc.take_snapshot(), Counter()
        for diff in now.compare_to(last, "traceback"):
            where = owner(diff.traceback) or " ".join(diff.traceback.format()[-2:]).strip()
            grown[where or "?"] += diff.size_diff
        print(f"traced {tracemalloc.get_traced_memory()[0] / 2**20:.1f} MB", file=sys.stderr)
        for where, size in grown.most_common(15):
            print(f"  {size / 1024:+8.0f} KB {where}", file=sys.stderr)
        last = now
    if sys.argv[6] == "1":
        sys._debugmallocstats()
    if sys.argv[7] == "1":
        census = Counter(type(o).__qualname__ for o in gc.get_objects())
        print("objects grown:", *(census - counted).most_common(12), file=sys.stderr)
        counted = census
        for o in gc.get_objects():
            if str(type(o).__module__).startswith("stockade.") and hasattr(o, "__dict__"):
                for name, value in vars(o).items():
                    if hasattr(value, "__len__") and not isinstance(value, (str, bytes)):
                        if len(value) >= 500:
                            print(f"  {type(o).__qualname__}.{name}: {len(value)}", file=sys.stderr)
    print("stepped", flush=True)
measure = float(line)
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


STEPS = (0, 50, 100, CONTAINERS)  # container counts at which --breakdown looks


def _start_containers(podman: Podman, image: str, indexes: range) -> list[str]:
    def start(index: int) -> str:
        label = ("--label", f"stockade.group=bench-profiled-{index}")
        return podman.run_detached(image, "sh", "-c", WORKLOAD, extra=label)

    with ThreadPoolExecutor(PARALLEL_STARTS) as pool:
        return list(pool.map(start, indexes))


def _step(child: subprocess.Popen[str], count: int) -> None:
    """Print the child's memory by mapping kind with `count` containers running."""
    from benchmarks.rss_breakdown import describe

    assert child.stdin is not None and child.stdout is not None
    time.sleep(2 * 2.0)  # a firewall round or two over the new containers
    child.stdin.write("step\n")
    child.stdin.flush()
    child.stdout.readline()
    print(f"with {count} containers:\n{describe(child.pid)}", flush=True)


def _remove(podman: Podman, ids: list[str]) -> None:
    for start in range(0, len(ids), 50):
        podman.cmd("rm", "-f", "-t", "0", *ids[start : start + 50], check=False, timeout=600)


def main(argv: list[str]) -> int:
    """Start the agent, then the containers; print the agent's figures."""
    breakdown = "--breakdown" in argv
    steps = STEPS if breakdown else (0, CONTAINERS)
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
            [sys.executable, "-c", CHILD, str(Path(tmp) / "agent"), url, token, pin,
             "1" if "--tracemalloc" in argv else "0", "1" if "--pymalloc" in argv else "0",
             "1" if "--census" in argv else "0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert child.stdin is not None and child.stdout is not None
        try:
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError("the agent did not start")
            started = time.monotonic()
            for low, high in pairwise(steps):
                if breakdown:
                    _step(child, low)
                ids += _start_containers(podman, image, range(low, high))
            print(f"containers started: {len(ids)} in {time.monotonic() - started:.0f} s")
            if breakdown:
                _step(child, len(ids))
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
    sys.exit(main(sys.argv[1:]))
