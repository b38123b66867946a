"""The agent's own stages: spool write/read, context + detection, proc connector coverage.

Prints medians of 5 runs as `name: value unit`. The proc connector part needs root and
compares what it saw with the execs caused (and, when the eBPF sensor runs here, with it).
"""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.platform_runner import PlatformRunner

from stockade.agent import pipeline
from stockade.agent.detection import agent_detectors
from stockade.agent.spool import Spool
from stockade.context import ContainerResolver, ContextStage, ProcessTree
from stockade.context.podman import PodmanRuntime
from stockade.model import Event, Host, Process
from stockade.sensor import procfs

RUNS = 5
N = 50_000


def _events(n: int, host_id: str = "") -> list[Event]:
    me = procfs.read_process(os.getpid())
    assert me is not None
    return [
        Event(
            type="execve",
            ts=i,
            proc=Process(
                pid=10_000_000 + i,
                ppid=os.getpid(),
                name="cat",
                argv=("cat", "/etc/hostname", f"arg{i}"),
                exepath="/usr/bin/cat",
                cgroup_id=me.cgroup_id,
                start_ns=i,
            ),
            host_id=host_id,
        )
        for i in range(n)
    ]


def _median_rate(run: Callable[[], int]) -> float:
    rates = []
    for _ in range(RUNS):
        start = time.perf_counter()
        count = run()
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def _filled_spool(path: Path) -> Spool:
    # Built apart: a live agent does not hold every event it ever spooled in memory.
    spool = Spool(path)
    for _ in range(N // 1000):
        spool.append(_events(1000))
    gc.collect()
    return spool


def bench_spool() -> None:
    """Append in batches of 100 (default fsync policy), then read everything back."""
    events = _events(N)
    with tempfile.TemporaryDirectory() as tmp:

        def write() -> int:
            spool = Spool(Path(tmp) / f"s{time.monotonic_ns()}")
            for i in range(0, N, 100):
                spool.append(events[i : i + 100])
            spool.close()
            return N

        print(f"spool_append: {_median_rate(write):,.0f} records/s")
        spool = _filled_spool(Path(tmp) / "read")

        def read() -> int:
            seq, total = 1, 0
            while batch := spool.read(seq, limit=1000):
                seq, total = batch[-1].seq + 1, total + len(batch)
            return total

        print(f"spool_read: {_median_rate(read):,.0f} records/s")

        def read_raw() -> int:
            seq, total = 1, 0
            while batch := spool.read_raw(seq, limit=1000):
                seq, total = batch[-1].seq + 1, total + len(batch)
            return total

        print(f"spool_read_raw: {_median_rate(read_raw):,.0f} records/s")
        spool.close()


def bench_context_and_detect() -> None:
    """Context stage (tree + resolver on this host's cgroup) and the default rules."""
    events = _events(N)
    tree = ProcessTree()
    tree.seed(procfs.scan())
    stage = ContextStage(tree, ContainerResolver([PodmanRuntime()]))
    rate = _median_rate(lambda: len([stage.enrich(e) for e in events]))
    print(f"context_enrich: {rate:,.0f} events/s")
    enriched = [stage.enrich(e) for e in events]
    detectors = agent_detectors()
    host = Host(id="h", hostname="h")
    rate = _median_rate(lambda: len(enriched) + 0 * len(pipeline.detect(enriched, detectors, host)))
    print(f"detect_default_rules: {rate:,.0f} events/s")


def bench_proc_connector(execs: int = 2000) -> None:
    """Execs seen by the proc connector out of a burst of `execs` /bin/true."""
    if os.geteuid() != 0:
        print("proc_connector_coverage: skipped (needs root)")
        return
    from stockade.sensor.proc_connector import ProcConnectorSource

    source = ProcConnectorSource()
    source.start()
    try:
        burst = subprocess.Popen(
            ["sh", "-c", f"i=0; while [ $i -lt {execs} ]; do /bin/true; i=$((i+1)); done"]
        )
        seen: list[Event] = []
        started = time.perf_counter()
        while burst.poll() is None or time.perf_counter() - started < 1:
            seen += source.poll(0.05)
            if burst.poll() is not None:
                seen += source.poll(0.2)
                break
        elapsed = time.perf_counter() - started
    finally:
        source.stop()
    children = {e.proc.pid for e in seen if e.type == "clone" and e.proc.ppid == burst.pid}
    trues = [e for e in seen if e.type == "execve" and e.proc.pid in children]
    named = [e for e in trues if e.proc.name == "true"]
    print(f"proc_connector_execs_seen: {len(trues) / execs * 100:.1f} %")
    print(f"proc_connector_execs_with_name: {len(named) / execs * 100:.1f} %")
    print(f"proc_connector_burst_rate: {execs / elapsed:,.0f} execs/s")
    print(f"proc_connector_drops: {source.stats().dropped} overflows")


def bench_transport(count: int = 20_000) -> None:
    """Spooled events sent to a real platform (mTLS, zstd, stored in SQLite) until acked."""
    from stockade.agent.hostinfo import this_host
    from stockade.agent.transport import Transport

    with tempfile.TemporaryDirectory() as tmp:
        # the tests' platform keeps events of any age: these have small numbers as times
        platform = PlatformRunner(Path(tmp) / "platform").start()
        try:
            state = Path(tmp) / "agent"
            host = this_host(state)
            creds = platform.credentials(state, host)
            spool = Spool(state / "spool")
            for _ in range(count // 1000):
                spool.append(_events(1000, host.id))  # the host its certificate is bound to
            transport = Transport(spool, platform.agent_url, creds)
            started = time.perf_counter()
            assert transport.drain(300), "the platform did not acknowledge everything"
            elapsed = time.perf_counter() - started
            transport.close()
            spool.close()
            print(f"transport_to_platform: {count / elapsed:,.0f} events/s")
        finally:
            platform.stop()


def main() -> int:
    """Run every part and print its figures."""
    bench_spool()
    bench_context_and_detect()
    bench_proc_connector()
    bench_transport()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
