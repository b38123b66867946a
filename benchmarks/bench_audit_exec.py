"""Short-lived exec bursts: how many execs each fallback source reports with argv, and
what each source adds to a burst's wall time (kernel work plus the reader competing for
the two cores). Needs root and a free audit pid; prints `name: value unit` lines."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from stockade.model import Event
from stockade.sensor.audit import AuditSource
from stockade.sensor.base import EventSource
from stockade.sensor.proc_connector import ProcConnectorSource

EXECS = 500
RUNS = 3


def _burst(binary: Path, source: EventSource | None) -> tuple[float, list[Event], int]:
    loop = f"i=0; while [ $i -lt {EXECS} ]; do {binary} arg$i; i=$((i+1)); done"
    started = time.perf_counter()
    shell = subprocess.Popen(["/bin/sh", "-c", loop])
    events: list[Event] = []
    while shell.poll() is None:
        if source is not None:
            events += source.poll(0.05)
        else:
            time.sleep(0.01)
    elapsed = time.perf_counter() - started
    if source is not None:
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            events += source.poll(0.1)
    return elapsed, events, shell.pid


def _complete(events: list[Event], shell: int) -> int:
    """Execs of the burst's children that came with the binary's argv."""
    children = {e.proc.pid for e in events if e.type == "clone" and e.args.get("ptid") == shell}
    children |= {e.proc.pid for e in events if e.type == "execve" and e.proc.ppid == shell}
    execs = [e for e in events if e.type == "execve" and e.proc.pid in children]
    return sum(1 for e in execs if e.proc.argv[1:2] and e.proc.argv[1].startswith("arg"))


def main() -> int:
    """Run the bursts with no source, the proc connector alone, and audit."""
    if os.geteuid() != 0 or AuditSource.unavailable_reason() is not None:
        print("audit_exec: skipped (needs root and a free audit pid)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "stk-bench-true"
        shutil.copy("/bin/true", binary)
        bare = [_burst(binary, None)[0] for _ in range(RUNS)]
        seen: dict[str, list[int]] = {"proc_connector": [], "audit": []}
        walls: dict[str, list[float]] = {"proc_connector": [], "audit": []}
        for name, make in (("proc_connector", ProcConnectorSource), ("audit", AuditSource)):
            for _ in range(RUNS):
                source = make()
                source.start()
                try:
                    wall, events, shell = _burst(binary, source)
                finally:
                    source.stop()
                seen[name].append(_complete(events, shell))
                walls[name].append(wall)
    base = statistics.median(bare)
    print(f"audit_exec_burst_size: {EXECS} execs")
    for name in seen:
        share = statistics.median(seen[name]) / EXECS * 100
        print(f"audit_exec_with_argv_{name}: {share:.1f} %")
    for name in walls:
        extra = (statistics.median(walls[name]) - base) / EXECS * 1e6
        print(f"audit_exec_extra_cost_{name}: {extra:.0f} us/exec")
    print(f"audit_exec_burst_bare: {base / EXECS * 1e6:.0f} us/exec")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
