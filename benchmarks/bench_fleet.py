"""A fleet on PostgreSQL + NATS JetStream: ingest per API node, store rate per worker from
1 to 2 workers, and end-to-end lag p99 under load.

200 simulated agents (`stockade.fleet.loadgen`: real enrollment, mTLS, the agent's own
spool and transport) in this process push as fast as they can to one API node:
- ingest: events/s the node acknowledged (durable in JetStream), 2 workers storing;
- lag at 80 % of that rate: for each step of each agent, generation -> the store's acked
  seq reaching it (polled every 0.25 s, so the figure is at most that much high), p99;
- workers: with the workers stopped the node fills JetStream with a backlog; then 1, and
  again 2, workers drain one: events stored per second.
The load generator shares the 2 cores with everything else: the figures are what this
machine reaches, each with the load average it ran under.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.fleet import Fleet, fleet_on_postgres  # noqa: E402

from stockade.fleet.loadgen import LoadPlan, SimulatedAgent, enroll_agents, run_load  # noqa: E402

AGENTS = 200
RUN_S = float(os.environ.get("STOCKADE_BENCH_FLEET_S", "30"))
FLAT_OUT = LoadPlan(events_per_s=600, send_interval_s=0.5, threads=24)
POLL_S = 0.25
LAG_LOAD = 0.8  # of the measured ingest rate: a load the fleet keeps up with


class LagProbe:
    """Polls the store's acked seqs; each agent step's lag is when it is first seen stored."""

    def __init__(self, fleet: Fleet, agents: list[SimulatedAgent]) -> None:
        self._fleet = fleet
        self._agents = agents
        self._next = {a.agent_id: len(a.generated.steps) for a in agents}
        self.lags: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

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


def _acked(agents: list[SimulatedAgent]) -> int:
    return sum(a.acked_seq for a in agents)


def _ingest(agents: list[SimulatedAgent]) -> float:
    """Events/s the API node acknowledged while the agents pushed flat out."""
    before, started = _acked(agents), time.monotonic()
    asyncio.run(run_load(agents, FLAT_OUT, RUN_S))
    return (_acked(agents) - before) / (time.monotonic() - started)


def _lag(fleet: Fleet, agents: list[SimulatedAgent], events_per_s: float) -> float:
    """The p99 lag, generation to stored, at a load of `events_per_s` over the fleet."""
    plan = LoadPlan(events_per_s=events_per_s / len(agents), send_interval_s=0.5, threads=24)
    probe = LagProbe(fleet, agents)
    asyncio.run(run_load(agents, plan, RUN_S, lambda: _drained(fleet, agents)))
    return probe.stop()


def _drained(fleet: Fleet, agents: list[SimulatedAgent]) -> bool:
    stored = fleet.stored_seqs()
    return all(stored.get(a.agent_id, 0) >= a.generated.last_seq for a in agents)


def _store_rate(fleet: Fleet, agents: list[SimulatedAgent], workers: int) -> float:
    """Fill JetStream with the workers stopped, then time `workers` of them draining it."""
    for worker in fleet.workers:
        worker.kill()
    asyncio.run(run_load(agents, FLAT_OUT, RUN_S / 2))
    backlog = _acked(agents) - sum(fleet.stored_seqs().values())
    started = time.monotonic()
    for worker in fleet.workers[:workers]:
        worker.start()
    while not _drained(fleet, agents):
        time.sleep(POLL_S)
    return backlog / (time.monotonic() - started)


def main() -> None:
    """Measure and print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with fleet_on_postgres(root, api_nodes=1, workers=2) as (fleet, _):
            agents = enroll_agents(
                root / "agents", AGENTS, fleet.agent_urls, fleet.ca_pem, fleet.token
            )
            try:
                rate = _ingest(agents)
                load = os.getloadavg()[0]
                print(f"ingest, 1 API node, 2 workers: {rate:,.0f} events/s (load avg {load:.1f})")
                lag = _lag(fleet, agents, rate * LAG_LOAD)
                load = os.getloadavg()[0]
                print(
                    f"end-to-end lag p99 at {rate * LAG_LOAD:,.0f} events/s: {lag:.2f} s "
                    f"(load avg {load:.1f})"
                )
                one = _store_rate(fleet, agents, 1)
                two = _store_rate(fleet, agents, 2)
                load = os.getloadavg()[0]
                print(
                    f"store, 1 worker: {one:,.0f} events/s; 2 workers: {two:,.0f} events/s "
                    f"(x{two / one:.2f}; load avg {load:.1f})"
                )
            finally:
                for agent in agents:
                    agent.close()


if __name__ == "__main__":
    main()
