"""A load generator: many simulated agents in one process, each with the agent's own
enrollment, spool and transport, sending events to a platform's API nodes.

Each agent enrolls for real (its own key, a one-time token, mTLS from then on), appends
generated events to its own on-disk `Spool` and sends them with its own `Transport`.
Between the nodes it behaves as behind a load balancer: when its node does not answer it
moves to the next one. One asyncio loop paces the agents; their blocking steps (spool
append, one batch sent) run on a small thread pool, so 200 agents fit in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from stockade.agent.enroll import Credentials, enroll, pin_ca
from stockade.agent.errors import TransportError
from stockade.agent.spool import Spool
from stockade.agent.transport import Transport
from stockade.model.entities import Container, Host
from stockade.model.events import Event, Process

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadPlan:
    """How hard the simulated agents push: events per second each, and how often they send."""

    events_per_s: float = 50.0
    send_interval_s: float = 1.0  # one batch per interval per agent, as a busy agent's
    batch_records: int = 1000  # the agent's own default
    threads: int = 16  # blocking steps in flight at once
    max_backlog: int = 0  # > 0: an agent generates only while fewer are unacked (flat out)


@dataclass
class Generated:
    """What one agent generated: its last seq, and (last seq, time) of each step for lag."""

    last_seq: int = 0
    steps: list[tuple[int, int]] = field(default_factory=list)


def _template(agent_name: str, host: Host) -> Event:
    proc = Process(pid=4242, name="loadgen", exepath="/usr/bin/loadgen", argv=("loadgen",))
    return Event(
        type="openat",
        ts=0,
        proc=proc,
        container=Container.host(),
        host_id=host.id,
        source="loadgen",
        args={"name": f"/var/lib/{agent_name}/data", "flags": "O_RDONLY"},
    )


class SimulatedAgent:
    """One agent: credentials, spool, a transport per API node (the active one first)."""

    def __init__(
        self, state_dir: Path, credentials: Credentials, host: Host, urls: Sequence[str]
    ) -> None:
        self.state_dir = state_dir
        self.credentials = credentials
        self.spool = Spool(state_dir / "spool")
        self._transports = [Transport(self.spool, url, credentials) for url in urls]
        self._active = 0
        self._template = _template(state_dir.name, host)
        self.generated = Generated(last_seq=self.spool.last_seq)
        self.failovers = 0

    @property
    def agent_id(self) -> str:
        """The id the platform gave this agent."""
        return self.credentials.agent_id

    @property
    def acked_seq(self) -> int:
        """The highest seq the platform acknowledged as durable."""
        return self.spool.acked_seq

    def generate(self, count: int) -> None:
        """Append `count` new events to the spool, stamped now."""
        if count <= 0:
            return
        now = time.time_ns()
        events = [msgspec.structs.replace(self._template, ts=now) for _ in range(count)]
        self.generated.last_seq = self.spool.append(events)
        self.generated.steps.append((self.generated.last_seq, now))

    def send(self) -> int:
        """Send one batch through the active node; on no answer, move to the next node."""
        transport = self._transports[self._active]
        try:
            return transport.send_once()
        except TransportError as e:
            transport.platform_acked = None  # ask again wherever it goes next
            self._active = (self._active + 1) % len(self._transports)
            self.failovers += 1
            log.debug("agent %s: %s; moving to node %d", self.agent_id, e, self._active)
            return 0

    def close(self) -> None:
        """Close the connections and the spool."""
        for transport in self._transports:
            transport.close()
        self.spool.close()


def enroll_agents(
    root: Path,
    count: int,
    urls: Sequence[str],
    ca_pem: bytes,
    token: Callable[[], str],
    threads: int = 8,
) -> list[SimulatedAgent]:
    """Enroll `count` agents (state under `root`/agent-N), spread over the nodes in turn."""

    def one(index: int) -> SimulatedAgent:
        state_dir = root / f"agent-{index:04d}"
        host = Host(id=f"sim-host-{index:04d}", hostname=f"sim-{index:04d}")
        state_dir.mkdir(parents=True, exist_ok=True)
        pin_ca(state_dir, ca_pem)
        mine = [*urls[index % len(urls) :], *urls[: index % len(urls)]]
        credentials = enroll(state_dir, mine[0], token(), host)
        return SimulatedAgent(state_dir, credentials, host, mine)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(count)))


async def _drive(
    agent: SimulatedAgent,
    plan: LoadPlan,
    pool: ThreadPoolExecutor,
    generating: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    loop = asyncio.get_running_loop()
    last = time.monotonic()
    owed = 0.0
    while not stop.is_set():
        now = time.monotonic()
        if generating.is_set():
            owed += (now - last) * plan.events_per_s
        last = now
        if plan.max_backlog:  # what could not be sent yet is not owed
            owed = min(owed, plan.max_backlog - (agent.generated.last_seq - agent.acked_seq))
        count, owed = max(int(owed), 0), owed - int(owed)
        await loop.run_in_executor(pool, agent.generate, count)
        sent = await loop.run_in_executor(pool, agent.send)
        if sent == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), plan.send_interval_s)


async def run_load(
    agents: Sequence[SimulatedAgent],
    plan: LoadPlan,
    generate_s: float,
    drained: Callable[[], bool] | None = None,
    drain_timeout_s: float = 300.0,
) -> bool:
    """Generate for `generate_s` seconds, then keep sending until every agent's spool is
    acked (and `drained()` holds, when given); False when `drain_timeout_s` passes first."""
    generating, stop = asyncio.Event(), asyncio.Event()
    generating.set()
    with ThreadPoolExecutor(plan.threads, thread_name_prefix="loadgen") as pool:
        tasks = [asyncio.create_task(_drive(a, plan, pool, generating, stop)) for a in agents]
        try:
            await asyncio.sleep(generate_s)
            generating.clear()
            deadline = time.monotonic() + drain_timeout_s
            while time.monotonic() < deadline:
                acked = all(a.acked_seq >= a.generated.last_seq for a in agents)
                if acked and (drained is None or await asyncio.to_thread(drained)):
                    return True
                await asyncio.sleep(0.5)
            return False
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
