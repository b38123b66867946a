"""A fleet on PostgreSQL + NATS JetStream, each stage's capacity measured on its own.

The load generator, the API node, nats-server, the workers and PostgreSQL all share this
machine's cores, so an end-to-end rate says little about any one of them. Each stage is
therefore measured apart, by the events it moves and the CPU seconds it spends on them
(read from /proc, which load does not distort the way it distorts wall-clock rates):
- ingest: 200 simulated agents (`stockade.fleet.loadgen`: real enrollment, mTLS, the
  agent's own spool and transport) send full batches to 1 API node as fast as it acks
  them (`LoadPlan.max_backlog`: none generated beyond one batch unsent), no worker: the
  events/s the node acknowledged (durable in JetStream), median over windows, and the
  node's CPU seconds per 100k events (so its events/s per core);
- drain: JetStream pre-filled by the node, then 1 worker, and again 2 workers, store the
  backlog in PostgreSQL (interleaved 1, 2, 1, 2, ...): events/s stored, the workers' and
  PostgreSQL's CPU seconds per 100k events, the 1 -> 2 ratio of the medians; then once
  more with 1 worker from a backlog of small batches (100 records), where each batch's
  own costs weigh (group commit shares them);
- lag: 1 node + 2 workers at a sustained offered rate below both capacities (a fraction
  of the smaller, stated): generation -> the store's acked seq reaching each agent step,
  polled every 0.25 s (so the figure is at most that much high), p99.
PostgreSQL runs with the settings deploy/ gives it (`PRODUCTION_SETTINGS`: durable, every
commit flushed to disk). Every figure is printed with the load average it ran under.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.fleet import Fleet, PlatformProcess, fleet_on_postgres  # noqa: E402
from tests.support.postgres import PRODUCTION_SETTINGS, PostgresServer  # noqa: E402

from stockade.fleet.loadgen import LoadPlan, SimulatedAgent, enroll_agents, run_load  # noqa: E402

AGENTS = 200
INGEST_S = float(os.environ.get("STOCKADE_BENCH_FLEET_S", "30"))
WINDOW_S = 5.0  # ingest is sampled in windows of this length; the median is reported
FILL_S = INGEST_S / 3  # each refill of the backlog before a drain
DRAIN_ROUNDS = int(os.environ.get("STOCKADE_BENCH_FLEET_ROUNDS", "2"))  # of 1 then 2 workers
LAG_S = INGEST_S
# of the smaller stage capacity: every stage and the load generator share the same cores
# here, so half of one stage's capacity already saturates the machine end to end
LAG_SHARE = float(os.environ.get("STOCKADE_BENCH_FLEET_LAG_SHARE", "0.25"))
# flat out: each agent sends full batches (the agent's 1,000 records) as fast as the node
# acks them, and holds no more than one unsent, so a stage ends soon after it is stopped
FLAT_OUT = LoadPlan(events_per_s=100_000, send_interval_s=0.5, threads=24, max_backlog=1000)
# the same with batches of 100 records, as agents send when each has little to say: the
# worker's per-batch costs (transactions, round trips) then weigh, and group commit counts
SMALL_BATCHES = LoadPlan(
    events_per_s=100_000, send_interval_s=0.5, threads=24, max_backlog=100, batch_records=100
)
POLL_S = 0.25
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU the process and its children (live, or ended and reaped) have used."""
    total = 0.0
    fields = _stat(pid)
    if fields:
        total += sum(int(f) for f in fields[11:15]) / TICKS  # utime stime cutime cstime
    for child in _children(pid):
        fields = _stat(child)
        if fields:
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def _stat(pid: int) -> list[str]:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text[text.rindex(")") + 2 :].split()  # fields from state on: index 11 is utime


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _pid(process: PlatformProcess) -> int:
    assert process.proc is not None, f"{process.name} is not running"
    return process.proc.pid


def _load() -> str:
    return f"load avg {os.getloadavg()[0]:.1f}"


def _per_100k(cpu: float, events: int) -> float:
    return cpu * 100_000 / events if events else float("nan")


def _acked(agents: list[SimulatedAgent]) -> int:
    return sum(a.acked_seq for a in agents)


def _stored(fleet: Fleet) -> int:
    return sum(fleet.stored_seqs().values())


def _drained(fleet: Fleet, agents: list[SimulatedAgent]) -> bool:
    stored = fleet.stored_seqs()
    return all(stored.get(a.agent_id, 0) >= a.generated.last_seq for a in agents)


def _in_background(work: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def ingest(fleet: Fleet, agents: list[SimulatedAgent]) -> float:
    """Flat out to 1 API node, no worker: events/s acked (median of windows), node CPU."""
    node, me = _pid(fleet.api[0]), os.getpid()
    load = _in_background(lambda: asyncio.run(run_load(agents, FLAT_OUT, INGEST_S)))
    time.sleep(WINDOW_S)  # past the start: every agent sending
    rates: list[float] = []
    first = (_acked(agents), cpu_seconds(node), cpu_seconds(me), time.monotonic())
    last = first
    while load.is_alive() and time.monotonic() - first[3] < INGEST_S - 2 * WINDOW_S:
        time.sleep(WINDOW_S)
        now = (_acked(agents), cpu_seconds(node), cpu_seconds(me), time.monotonic())
        rates.append((now[0] - last[0]) / (now[3] - last[3]))
        last = now
    events = last[0] - first[0]
    rate = statistics.median(rates)
    print(
        f"ingest, 1 API node, no worker, agents flat out: {rate:,.0f} "
        f"events/s acked (median of {len(rates)} "
        f"windows of {WINDOW_S:.0f} s); node {_per_100k(last[1] - first[1], events):.2f} CPU s "
        f"per 100k events = {100_000 / _per_100k(last[1] - first[1], events):,.0f} events/s "
        f"per core; load generator {_per_100k(last[2] - first[2], events):.2f} CPU s per 100k "
        f"({_load()})",
        flush=True,
    )
    load.join()
    return rate


def _fill(agents: list[SimulatedAgent], plan: LoadPlan = FLAT_OUT, seconds: float = FILL_S) -> None:
    asyncio.run(run_load(agents, plan, seconds))


def drain(
    fleet: Fleet, agents: list[SimulatedAgent], postgres: PostgresServer, n: int, what: str = ""
) -> float:
    """Start `n` workers on the backlog; events/s stored until it is gone, and their CPU."""
    workers = fleet.workers[:n]
    for worker in workers:
        worker.start()
    # timed from when every worker is up, so n processes' start-up is not in the figure
    pids = [_pid(w) for w in workers]
    cpu = sum(cpu_seconds(p) for p in pids), cpu_seconds(postgres.process.pid)
    before, started = _stored(fleet), time.monotonic()
    while not _drained(fleet, agents):
        time.sleep(POLL_S)
    elapsed, events = time.monotonic() - started, _stored(fleet) - before
    worker_cpu = sum(cpu_seconds(p) for p in pids) - cpu[0]
    pg_cpu = cpu_seconds(postgres.process.pid) - cpu[1]
    for worker in workers:
        worker.kill(signal.SIGTERM)  # all acked by now: nothing left to redeliver
    rate = events / elapsed
    print(
        f"drain, {n} worker{'s' if n > 1 else ''}{what}: {rate:,.0f} events/s stored ({events:,} "
        f"events); workers {_per_100k(worker_cpu, events):.2f} CPU s per 100k, PostgreSQL "
        f"{_per_100k(pg_cpu, events):.2f} ({_load()})",
        flush=True,
    )
    return rate


class LagProbe:
    """Polls the store's acked seqs; each agent step's lag is when it is first seen stored."""

    def __init__(self, fleet: Fleet, agents: list[SimulatedAgent]) -> None:
        self._fleet = fleet
        self._agents = agents
        self._next = {a.agent_id: len(a.generated.steps) for a in agents}
        self.lags: list[float] = []
        self._stop = threading.Event()
        self._thread = _in_background(self._run)

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            stored = self._fleet.stored_seqs()
            now = time.time_ns()
            for agent in self._agents:
                steps, i = agent.generated.steps, self._next[agent.agent_id]
                while i < len(steps) and steps[i][0] <= stored.get(agent.agent_id, 0):
                    self.lags.append((now - steps[i][1]) / 1e9)
                    i += 1
                self._next[agent.agent_id] = i

    def stop(self) -> float:
        """Stop polling; the p99 lag in seconds."""
        self._stop.set()
        self._thread.join()
        ordered = sorted(self.lags)
        return ordered[int(len(ordered) * 0.99)] if ordered else float("nan")


def lag(fleet: Fleet, agents: list[SimulatedAgent], events_per_s: float) -> None:
    """The p99 lag, generation to stored, at `events_per_s` over the fleet (2 workers)."""
    for worker in fleet.workers:
        worker.start()
    plan = LoadPlan(events_per_s=events_per_s / len(agents), send_interval_s=0.5, threads=24)
    probe = LagProbe(fleet, agents)
    started, before = time.monotonic(), _acked(agents)
    asyncio.run(run_load(agents, plan, LAG_S, lambda: _drained(fleet, agents)))
    p99 = probe.stop()
    offered = (_acked(agents) - before) / (time.monotonic() - started)
    print(
        f"end-to-end lag p99, 1 API node + 2 workers, offered {events_per_s:,.0f} events/s "
        f"({offered:,.0f} acked over the run incl. its drain): {p99:.2f} s ({_load()})",
        flush=True,
    )


def measure(fleet: Fleet, postgres: PostgresServer, agents: list[SimulatedAgent]) -> None:
    """The three stages in turn; the backlog the ingest stage leaves is the first drained."""
    for worker in fleet.workers:
        worker.kill(signal.SIGTERM)
    node = ingest(fleet, agents)
    by_workers: dict[int, list[float]] = {1: [], 2: []}
    for round_ in range(DRAIN_ROUNDS):
        for n in (1, 2):
            if round_ or n == 2:
                _fill(agents)
            by_workers[n].append(drain(fleet, agents, postgres, n))
    one, two = statistics.median(by_workers[1]), statistics.median(by_workers[2])
    print(
        f"drain medians: 1 worker {one:,.0f} events/s, 2 workers {two:,.0f} events/s "
        f"(x{two / one:.2f}; {two / 2:,.0f} per worker) ({_load()})",
        flush=True,
    )
    _fill(agents, SMALL_BATCHES, 2 * FILL_S)  # small batches are acked at a slower pace
    drain(fleet, agents, postgres, 1, f", batches of {SMALL_BATCHES.batch_records} records")
    lag(fleet, agents, LAG_SHARE * min(node, two))


def main() -> None:
    """Start the fleet, enroll the agents, measure and print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with fleet_on_postgres(root, 1, 2, PRODUCTION_SETTINGS) as (fleet, postgres):
            agents = enroll_agents(
                root / "agents", AGENTS, fleet.agent_urls, fleet.ca_pem, fleet.token_source(AGENTS)
            )
            try:
                measure(fleet, postgres, agents)
            finally:
                for agent in agents:
                    agent.close()


if __name__ == "__main__":
    main()
