"""Agent cost of file integrity monitoring on 100k watched files.

Builds a tree of FILES small text files (1,000 directories) under /var/tmp and times:
- the first hash baseline of all of them (`fim_scan.scan`: sha256, owner, mode, size,
  mtime; CPU of this process and wall clock; the files are in the page cache, as right
  after they were written),
- a rescan with nothing changed (digests reused where size, mtime, ctime and inode agree),
- the steady-state CPU of a `FimMonitor` (live fanotify marks + baseline) running in its
  own process, while this process makes RATE file changes per second for SECONDS seconds:
  once to watched files (each one a real change: hashed, compared, diffed, an alert) and
  once to unwatched files of the same filesystem (what a busy host's other writes cost).
  CPU is the monitor process's user + system time over the window, in % of one core.

Goal: steady state <= 2 % of one core. Needs root (fanotify).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from stockade.host.fim_policy import FimPolicy  # noqa: E402
from stockade.host.fim_scan import scan  # noqa: E402

FILES = 100_000
DIRS = 1_000
RATE = 1_000
SECONDS = 10
BASE = Path("/var/tmp/stockade-bench-fim")
MONITOR = """
import sys, threading, time
from pathlib import Path
from stockade.host.fim_monitor import FimMonitor
from stockade.host.fim_policy import FimPolicy
alerts = 0
def emit(batch):
    global alerts
    alerts += len(batch)
monitor = FimMonitor(FimPolicy(paths=(sys.argv[1],), containers=False), Path(sys.argv[2]), "bench")
emit(monitor.start())
print("ready", flush=True)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
while not stop.is_set():
    emit(monitor.poll(0.2))
print(alerts, flush=True)
"""


def build_tree(root: Path) -> None:
    """FILES text files of ~200 bytes in DIRS directories."""
    per_dir = FILES // DIRS
    line = "key = value # a line of configuration text\n" * 4
    for d in range(DIRS):
        sub = root / f"d{d:04d}"
        sub.mkdir(parents=True)
        for f in range(per_dir):
            (sub / f"f{f:03d}.conf").write_text(f"# file {d}/{f}\n{line}")


def cpu_ticks(pid: int) -> int:
    """User + system clock ticks of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def write_changes(targets: list[Path]) -> int:
    """Make RATE changes per second for SECONDS seconds, round-robin over `targets`."""
    start, done = time.monotonic(), 0
    while (elapsed := time.monotonic() - start) < SECONDS:
        due = int(elapsed * RATE)
        while done < due:
            targets[done % len(targets)].write_text(f"changed {done}\n")
            done += 1
        time.sleep(0.005)
    return done


def steady_state(watched: Path, state: Path, targets: list[Path]) -> tuple[float, int, int]:
    """% of one core the monitor used while `targets` changed, changes made, alerts seen."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    child = subprocess.Popen(
        [sys.executable, "-c", MONITOR, str(watched), str(state)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdin is not None and child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    ticks, wall = cpu_ticks(child.pid), time.monotonic()
    changes = write_changes(targets)
    time.sleep(0.5)  # the last poll's batch
    used = (cpu_ticks(child.pid) - ticks) / os.sysconf("SC_CLK_TCK")
    share = 100 * used / (time.monotonic() - wall)
    child.stdin.write("stop\n")
    child.stdin.flush()
    alerts = int(child.stdout.readline())
    child.wait(60)
    return share, changes, alerts


def main() -> int:
    """Print the figures as `name: value unit`."""
    if os.geteuid() != 0:
        print("bench_fim: needs root (fanotify)", file=sys.stderr)
        return 1
    shutil.rmtree(BASE, ignore_errors=True)
    watched, other = BASE / "watched", BASE / "other"
    try:
        build_tree(watched)
        other.mkdir()
        policy = FimPolicy(paths=(str(watched),), containers=False)
        cpu, wall = time.process_time(), time.perf_counter()
        baseline = scan("/", policy)
        print(f"fim_files: {len(baseline)} files")
        print(f"fim_baseline_cpu: {time.process_time() - cpu:.1f} s")
        print(f"fim_baseline_wall: {time.perf_counter() - wall:.1f} s")
        cpu = time.process_time()
        scan("/", policy, baseline)
        print(f"fim_rescan_unchanged_cpu: {time.process_time() - cpu:.1f} s")
        hot = sorted(watched.glob("d000*/f00*.conf"))[:200]
        share, changes, alerts = steady_state(watched, BASE / "state-a", hot)
        print(f"fim_watched_changes_cpu: {share:.1f} % of one core "
              f"({changes / SECONDS:.0f} changes/s to watched files, {alerts} alerts)")  # fmt: skip
        cold = [other / f"f{i}" for i in range(200)]
        share, changes, alerts = steady_state(watched, BASE / "state-b", cold)
        print(f"fim_unwatched_changes_cpu: {share:.1f} % of one core "
              f"({changes / SECONDS:.0f} changes/s to other files, {alerts} alerts)")  # fmt: skip
    finally:
        shutil.rmtree(BASE, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
