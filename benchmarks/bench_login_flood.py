"""Ingest events/s with and without a concurrent login flood on the console port.

Starts `stockade server` in its own process and enrolls one agent. A flood process (16
clients on one asyncio thread, wrong passwords from 16 loopback addresses, each soon locked
out) starts once and is switched on and off, so its start-up and TLS handshakes never fall
into a measured round. It runs at nice 19: it stands in for an attacker on another machine,
so its own CPU comes out of what the platform leaves idle (its use is printed).

Rounds come in pairs, one alone and one flooded, in alternating order (ABBA) so a drift of
the machine's load weighs on both sides alike; the flood's cost is the median of the pairs'
costs. On a machine others load too, a round's events/s swing by tens of percent either
way whatever the flood does, so CPU time is printed as well, which barely moves with the
machine's load: the server's CPU per 1,000 events (all threads, and its event loop's
thread, which the console and agent ports share), what the flood alone costs the server,
and that cost as a share of the CPU ingest used alone: what ingest loses when the server
has no CPU to spare. The goal is a cost under 10 %.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import ssl
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_ingest import (  # noqa: E402
    BATCH_EVENTS,
    BATCHES_PER_ROUND,
    _batches,
    _enroll,
    _send_all,
    _start_server,
    _token,
)

PAIRS = 8
FLOOD_CLIENTS = 16
FLOOD_NICE = 19
FLOOD_WARMUP_S = 1.0  # flooding before a flooded round is measured
FLOOD_ONLY_S = 5.0  # the flood alone, to measure what it costs the server
FLOOD_DRAIN_S = 1.5  # a refused login is answered after 1 s
STATUSES = (200, 401, 429, 503)
TICKS = os.sysconf("SC_CLK_TCK")


async def _flood_client(
    console_url: str,
    ca_path: str,
    source: str,
    on: Event,
    stop: Event,
    answers: list[Synchronized[int]],
) -> None:
    verify = ssl.create_default_context(cafile=ca_path)
    transport = httpx.AsyncHTTPTransport(verify=verify, local_address=source)
    async with httpx.AsyncClient(base_url=console_url, transport=transport, timeout=30) as c:
        n = 0
        while not stop.is_set():
            if not on.is_set():
                await asyncio.sleep(0.1)
                continue
            body = {"username": f"guess{n % 50}", "password": f"wrong-{n}"}
            try:
                status = (await c.post("/api/v1/auth/login", json=body)).status_code
            except httpx.TransportError:  # a kept-alive connection the server closed meanwhile
                continue
            slot = answers[STATUSES.index(status) if status in STATUSES else -1]
            with slot.get_lock():
                slot.value += 1
            n += 1


def _flood_process(
    console_url: str, ca_path: str, on: Event, stop: Event, answers: list[Synchronized[int]]
) -> None:
    """FLOOD_CLIENTS clients, one loopback address each, posting wrong passwords while `on`.

    One thread runs them all (asyncio): 16 threads waking in turn cost the measured
    processes, on a busy 2-core machine, far more scheduling delay than their CPU says.
    """
    os.nice(FLOOD_NICE)

    async def flood() -> None:
        sources = [f"127.0.1.{n + 1}" for n in range(FLOOD_CLIENTS)]
        await asyncio.gather(
            *(_flood_client(console_url, ca_path, s, on, stop, answers) for s in sources)
        )

    asyncio.run(flood())


class LoginFlood:
    """A login flood in its own process, started once and switched on and off."""

    def __init__(self, console_url: str, ca_path: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self._on, self._stop = context.Event(), context.Event()
        # one counter per status in STATUSES, and one for any other answer
        self._answers = [context.Value("q", 0) for _ in range(len(STATUSES) + 1)]
        self._process = context.Process(
            target=_flood_process,
            args=(console_url, str(ca_path), self._on, self._stop, self._answers),
        )
        self._process.start()

    @property
    def pid(self) -> int:
        """The flood process's id."""
        assert self._process.pid is not None
        return self._process.pid

    def answered(self) -> int:
        """Logins answered so far."""
        return sum(a.value for a in self._answers)

    def statuses(self) -> Counter[str]:
        """Answers so far by HTTP status."""
        names = [*map(str, STATUSES), "other"]
        return Counter({n: a.value for n, a in zip(names, self._answers, strict=True) if a.value})

    def start(self) -> None:
        """Flood until `pause`, returning once answers come back and the warm-up is over."""
        before = self.answered()
        self._on.set()
        while self.answered() == before:
            if not self._process.is_alive():
                raise RuntimeError(f"the flood process ended (exit code {self._process.exitcode})")
            time.sleep(0.05)
        time.sleep(FLOOD_WARMUP_S)

    def pause(self) -> None:
        """Stop sending new logins; returns once the last ones sent are answered."""
        self._on.clear()
        time.sleep(FLOOD_DRAIN_S)

    def close(self) -> None:
        """End the flood process."""
        self._stop.set()
        self._process.join(60)


def _cpu_s(pid: int, task: int | None = None) -> float:
    """CPU seconds (user + system) of a process, or of one of its threads."""
    path = f"/proc/{pid}/task/{task}/stat" if task is not None else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass(frozen=True)
class Round:
    """One measured round: events/s and the server's CPU seconds per 1,000 events."""

    rate: float
    cpu_per_k: float
    loop_cpu_per_k: float


def _round(server_pid: int, client: httpx.Client, bodies: list[bytes]) -> Round:
    events = len(bodies) * BATCH_EVENTS
    cpu, loop = _cpu_s(server_pid), _cpu_s(server_pid, server_pid)
    started = time.perf_counter()
    _send_all(client, bodies)
    elapsed = time.perf_counter() - started
    cpu, loop = _cpu_s(server_pid) - cpu, _cpu_s(server_pid, server_pid) - loop
    return Round(events / elapsed, 1000 * cpu / events, 1000 * loop / events)


def _flood_alone(server_pid: int, flood: LoginFlood) -> tuple[float, float, float, float]:
    """What the flood alone costs: server cores, its event loop's share, flooder cores, logins/s."""
    flood.start()
    cpu, loop, own = _cpu_s(server_pid), _cpu_s(server_pid, server_pid), _cpu_s(flood.pid)
    answered, started = flood.answered(), time.perf_counter()
    time.sleep(FLOOD_ONLY_S)
    elapsed = time.perf_counter() - started
    flood.pause()
    return (
        (_cpu_s(server_pid) - cpu) / elapsed,
        (_cpu_s(server_pid, server_pid) - loop) / elapsed,
        (_cpu_s(flood.pid) - own) / elapsed,
        (flood.answered() - answered) / elapsed,
    )


def _median(rounds: list[Round], field: str) -> float:
    return float(statistics.median(getattr(r, field) for r in rounds))


def main() -> int:
    """Print ingest events/s alone and during a login flood, the cost, and where CPU went."""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        server, agent_url, ca_pem, console_url = _start_server(data_dir)
        agent_id, client = _enroll(agent_url, ca_pem, _token(data_dir), data_dir, 0)
        flood = LoginFlood(console_url, data_dir / "platform" / "pki" / "ca.crt")
        seq = 1
        alone: list[Round] = []
        flooded: list[Round] = []
        costs: list[float] = []
        try:
            _send_all(client, _batches(agent_id, seq, 5))  # warm up: connections, caches
            seq += 5 * BATCH_EVENTS
            flood_cost = _flood_alone(server.pid, flood)
            for pair in range(PAIRS):
                order = (False, True) if pair % 2 == 0 else (True, False)
                rates: dict[bool, float] = {}
                for flooding in order:
                    bodies = _batches(agent_id, seq, BATCHES_PER_ROUND)
                    seq += BATCHES_PER_ROUND * BATCH_EVENTS
                    if flooding:
                        flood.start()
                    measured = _round(server.pid, client, bodies)
                    flood.pause()
                    (flooded if flooding else alone).append(measured)
                    rates[flooding] = measured.rate
                costs.append(100 * (1 - rates[True] / rates[False]))
        finally:
            flood.close()
            client.close()
            server.terminate()
            server.wait(30)
    _report(alone, flooded, costs, flood_cost, flood.statuses())
    print(f"machine_load_1min: {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    return 0


def _report(
    alone: list[Round],
    flooded: list[Round],
    costs: list[float],
    flood_cost: tuple[float, float, float, float],
    statuses: Counter[str],
) -> None:
    server_cores, loop_share, flooder_cores, logins = flood_cost
    print(f"ingest_without_login_flood_median: {_median(alone, 'rate'):.0f} events/s")
    print(f"ingest_during_login_flood_median: {_median(flooded, 'rate'):.0f} events/s")
    print(
        f"ingest_login_flood_cost_median: {statistics.median(costs):.1f} % "
        f"(pairs: {', '.join(f'{c:.1f}' for c in costs)})"
    )
    print(
        "server_cpu_per_1000_events_median: "
        f"{1000 * _median(alone, 'cpu_per_k'):.1f} ms alone, "
        f"{1000 * _median(flooded, 'cpu_per_k'):.1f} ms flooded; event loop thread "
        f"{1000 * _median(alone, 'loop_cpu_per_k'):.1f} ms alone, "
        f"{1000 * _median(flooded, 'loop_cpu_per_k'):.1f} ms flooded"
    )
    print(
        f"login_flood_alone: {logins:.0f} logins/s answered; server {server_cores:.3f} cores "
        f"(event loop thread {loop_share:.3f}); flooder {flooder_cores:.3f} cores"
    )
    ingest_cores = _median(alone, "rate") * _median(alone, "cpu_per_k") / 1000
    print(  # what ingest loses when the server has no CPU to spare (on a busy machine)
        f"login_flood_share_of_ingest_cpu: {100 * server_cores / ingest_cores:.1f} % "
        f"(the flood's {server_cores:.3f} cores of the {ingest_cores:.3f} ingest used alone)"
    )
    print(f"login_flood_answers: {', '.join(f'{s}: {n}' for s, n in sorted(statuses.items()))}")


if __name__ == "__main__":
    raise SystemExit(main())
