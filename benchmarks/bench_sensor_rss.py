"""Resident memory of the whole agent with the default rules, while events flow.

A platform is served on loopback by this process; a child process runs the real
`Agent` (eBPF sensor with the event types the default rules need, process tree seeded
from /proc, container resolver, default rules, spool, transport and heartbeat threads,
image scan scheduler), enrolls, and runs a workload of execs and file opens for a few
seconds; it then reports its VmRSS and VmHWM. Goal: <= 120 MB. With
STOCKADE_BENCH_FALCO_RULES=1, Falco's stable and incubating rules are loaded too.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.platform_runner import PlatformRunner

CHILD = """
import subprocess, sys, threading, time
from pathlib import Path
from stockade.agent.daemon import Agent, AgentConfig
from benchmarks.bench_sensor_overhead import bench_rule_paths
rules = tuple(bench_rule_paths())
agent = Agent(AgentConfig(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], rules=rules))
stop = threading.Event()
runner = threading.Thread(target=agent.run, args=(stop,))
runner.start()
if not agent.ready.wait(60):
    sys.exit("agent did not become ready")
time.sleep(1)
ready = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)["VmRSS"]
work = subprocess.Popen(["/bin/sh", "-c", "for i in $(seq 1000); do cat /etc/hostname; done"],
                        stdout=subprocess.DEVNULL)
time.sleep(5)
work.wait()
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
spooled = agent.spool.last_seq if agent.spool is not None else 0
print(ready.split()[0], agent.source_name, threading.active_count(), spooled,
      status["VmRSS"].split()[0], status["VmHWM"].split()[0], flush=True)
stop.set()
runner.join(60)
"""


@contextlib.contextmanager
def platform_on_loopback(data_dir: Path) -> Iterator[tuple[str, str, str]]:
    """Serve a platform from a thread; yields (agent URL, one enrollment token, CA pin)."""
    platform = PlatformRunner(data_dir).start()
    try:
        yield platform.agent_url, platform.token(), platform.ca_fingerprint
    finally:
        platform.stop()


def main() -> int:
    """Run the agent child against a loopback platform and print its memory figures."""
    from stockade.sensor.bpf import BpfSource

    if reason := BpfSource.unavailable_reason():
        print(f"sensor_rss: skipped ({reason})")
        return 0
    with (
        tempfile.TemporaryDirectory() as tmp,
        platform_on_loopback(Path(tmp) / "p") as (url, tok, pin),
    ):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(Path(tmp) / "agent"), url, tok, pin],
            check=True, capture_output=True, text=True, timeout=180,
        ).stdout.split()  # fmt: skip
    ready_kb, source, threads, spooled, rss_kb, hwm_kb = out[-6:]
    print(f"agent event source: {source}")
    print(f"agent threads: {threads}")
    print(f"agent events spooled: {spooled}")
    print(f"agent rss when ready: {int(ready_kb) / 1024:.1f} MB")
    print(f"agent rss after the workload: {int(rss_kb) / 1024:.1f} MB")
    print(f"agent peak rss: {int(hwm_kb) / 1024:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
