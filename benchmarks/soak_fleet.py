"""Soak a fleet (`make soak`): 200 simulated agents for an hour on 2 API nodes + 2 workers
(PostgreSQL + NATS JetStream), a random fault every few minutes; at the end every event
must be stored exactly once. Prints a summary; exit 1 when anything was lost or doubled.

    python benchmarks/soak_fleet.py [--minutes 60] [--agents 200] [--seed N]
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.fleet import (  # noqa: E402
    Fleet,
    LoadRun,
    assert_stored_once,
    fleet_on_postgres,
    restart_postgres,
)
from tests.support.postgres import PostgresServer  # noqa: E402

from stockade.fleet.loadgen import LoadPlan, enroll_agents  # noqa: E402

PLAN = LoadPlan(events_per_s=20, send_interval_s=1.0)
FAULT_GAP_S = (60.0, 240.0)  # between the end of one fault and the next
DOWN_S = (5.0, 30.0)  # how long a killed process stays down


def _faults(fleet: Fleet, postgres: PostgresServer, run: LoadRun) -> dict[str, Callable[[], None]]:
    def down_then_up(name: str, index: int) -> Callable[[], None]:
        def fault() -> None:
            process = (fleet.api if name == "api" else fleet.workers)[index]
            process.kill()
            time.sleep(random.uniform(*DOWN_S))
            process.start()

        return fault

    return {
        "kill -9 worker": down_then_up("worker", random.randrange(len(fleet.workers))),
        "kill -9 API node": down_then_up("api", random.randrange(len(fleet.api))),
        "restart nats-server (kill -9)": lambda: fleet.nats.restart(signal.SIGKILL),
        "restart PostgreSQL (immediate)": lambda: restart_postgres(postgres),
        "whole platform down 60 s": lambda: run.outage(60.0),
    }


def main() -> int:
    """Run the soak and print its summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    random.seed(args.seed)
    injected: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with fleet_on_postgres(root) as (fleet, postgres):
            agents = enroll_agents(
                root / "agents",
                args.agents,
                fleet.agent_urls,
                fleet.ca_pem,
                fleet.token_source(args.agents),
            )
            started = time.monotonic()
            run = LoadRun(fleet, agents, PLAN, args.minutes * 60)
            end = started + args.minutes * 60 - FAULT_GAP_S[0]
            while time.monotonic() + FAULT_GAP_S[0] < end:
                time.sleep(random.uniform(*FAULT_GAP_S))
                name, fault = random.choice(list(_faults(fleet, postgres, run).items()))
                print(f"{(time.monotonic() - started) / 60:5.1f} min: {name}", flush=True)
                fault()
                injected[name] += 1
            outcome = "every event stored exactly once"
            try:
                run.finish()
                assert_stored_once(fleet, agents)
            except AssertionError as e:
                outcome = f"FAILED: {e}"
            events = sum(a.generated.last_seq for a in agents)
            print(
                f"soak of {args.minutes:g} min, seed {args.seed}, {args.agents} agents: "
                f"{events:,} events, faults: {dict(injected) or 'none'}, "
                f"agent failovers {sum(a.failovers for a in agents)}, "
                f"load avg {os.getloadavg()[0]:.1f}"
            )
            print(outcome)
            for agent in agents:
                agent.close()
            return 0 if outcome.startswith("every") else 1


if __name__ == "__main__":
    raise SystemExit(main())
