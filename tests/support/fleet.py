"""A platform fleet of real processes: nats-server, `stockade server` API nodes and
`stockade worker`s on one store, each killable and restartable, and what the store holds."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import sqlite3
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from stockade.fleet.loadgen import LoadPlan, SimulatedAgent, run_load
from stockade.platform.backends import open_store
from stockade.platform.services.enrollment import create_token
from tests.support.nats import NatsServer
from tests.support.polling import poll_until
from tests.support.ports import free_port
from tests.support.postgres import PostgresServer, start_postgres
from tests.support.processes import ADMIN_PASSWORD, STOCKADE, end

START_TIMEOUT_S = 90
LOAD_TIMEOUT_S = 180
DRAIN_TIMEOUT_S = 300


@dataclass(frozen=True)
class Stored:
    """What the store holds of one agent's events: rows, distinct seqs, highest seq."""

    rows: int
    distinct: int
    highest: int


class PlatformProcess:
    """One `stockade` process of the fleet, started again with the same arguments."""

    def __init__(self, name: str, args: list[str], ready: str, log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.ready = ready
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}  # set in its environment besides the test's own

    def start(self) -> None:
        """Start the process and wait until it prints its ready line."""
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start the process without waiting for it (`wait_ready` does)."""
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*STOCKADE, *self.args],
                stdout=subprocess.PIPE,
                stderr=log,
                bufsize=0,  # unbuffered: select() then sees every line, not only the first
                env={**os.environ, "STOCKADE_ADMIN_PASSWORD": ADMIN_PASSWORD, **self.env},
            )

    def wait_ready(self) -> None:
        """Wait until the started process prints its ready line; AssertionError if it ends
        or the deadline passes first."""
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and self.proc.poll() is None:
            readable, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if readable and self.ready in self.proc.stdout.readline().decode(errors="replace"):
                return
        log = self.log_path.read_text(errors="replace")[-3000:]
        raise AssertionError(f"{self.name} did not start: {log}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the process (SIGKILL: a crash) and wait for it to end."""
        if self.proc is not None:
            end(self.proc, sig)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
        self.proc = None

    @property
    def running(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None


class Fleet:
    """N API nodes and M workers on one NATS server and one store (SQLite file by default)."""

    def __init__(
        self,
        root: Path,
        nats: NatsServer,
        api_nodes: int = 2,
        workers: int = 2,
        store: str = "sqlite",
        store_location: str = "",
    ) -> None:
        self.root = root
        self.nats = nats
        self.store = store
        self.store_location = store_location or str(root / "data" / "platform" / "stockade.db")
        common = ["--data-dir", str(root / "data"), "--store", store]
        common += ["--store-location", self.store_location]
        common += ["--bus", "nats", "--bus-location", nats.url]
        retention = ["--events-days", "0", "--alerts-days", "0", "--store-max-gb", "0"]
        self.agent_ports = [free_port() for _ in range(api_nodes)]
        self.console_ports = [free_port() for _ in range(api_nodes)]
        self.api = [
            PlatformProcess(
                f"api-{i}",
                ["server", *common, "--port", str(console), "--agent-port", str(port)],
                "Agent endpoint:",
                root,
            )
            for i, (console, port) in enumerate(
                zip(self.console_ports, self.agent_ports, strict=True)
            )
        ]
        self.workers = [
            PlatformProcess(f"worker-{i}", ["worker", *common, *retention], "worker:", root)
            for i in range(workers)
        ]

    @property
    def agent_urls(self) -> list[str]:
        """The agent port of each API node."""
        return [f"https://127.0.0.1:{port}" for port in self.agent_ports]

    @property
    def console_urls(self) -> list[str]:
        """The console port of each API node."""
        return [f"https://127.0.0.1:{port}" for port in self.console_ports]

    @property
    def ca_path(self) -> Path:
        """The platform CA's certificate file (what console clients trust)."""
        return self.root / "data" / "platform" / "pki" / "ca.crt"

    def login(self, node: int) -> httpx.Client:
        """A console client of API node `node`, logged in as admin (the caller closes it)."""
        verify = ssl.create_default_context(cafile=str(self.ca_path))
        client = httpx.Client(base_url=self.console_urls[node], verify=verify, timeout=30)
        body = {"username": "admin", "password": ADMIN_PASSWORD}
        answer = client.post("/api/v1/auth/login", json=body)
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        return client

    @property
    def ca_pem(self) -> bytes:
        """The platform CA the agents pin."""
        return self.ca_path.read_bytes()

    @property
    def processes(self) -> list[PlatformProcess]:
        """Every platform process: API nodes, then workers."""
        return [*self.api, *self.workers]

    def start(self) -> Fleet:
        """Start the first API node (it makes the CA and the store's schema), then the other
        processes together (each starting Python takes seconds: in parallel, not in turn)."""
        stopped = [p for p in self.processes if not p.running]
        if not stopped:
            return self
        first, *others = stopped
        first.start()
        for process in others:
            process.spawn()
        for process in others:
            process.wait_ready()
        return self

    def stop(self) -> None:
        """Stop every platform process (SIGTERM to all first: they shut down together)."""
        for process in self.processes:
            if process.running and process.proc is not None:
                process.proc.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.kill(signal.SIGTERM)

    def token(self) -> str:
        """A one-time enrollment token, written to the store directly."""
        return self.tokens(1)[0]

    def tokens(self, count: int) -> list[str]:
        """`count` one-time enrollment tokens, written through one opening of the store
        (each opening connects and checks the schema under a lock: ~0.1 s)."""
        store = open_store(self.store, self.store_location)
        try:
            return [create_token(store, 3600) for _ in range(count)]
        finally:
            store.close()

    def token_source(self, count: int) -> Callable[[], str]:
        """A thread-safe supply of `count` tokens made at once (for `enroll_agents`)."""
        return iter(self.tokens(count)).__next__  # a list iterator's next() holds the GIL

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        """The rows a read-only query finds in the fleet's store."""
        if self.store == "postgresql":
            return asyncio.run(_pg_rows(self.store_location, query))
        with sqlite3.connect(f"file:{self.store_location}?mode=ro", uri=True, timeout=30) as db:
            return list(db.execute(query))

    def stored(self) -> dict[str, Stored]:
        """Per agent: event rows, distinct seqs and the highest seq in the store."""
        query = (
            "SELECT agent_id, count(*), count(DISTINCT seq), max(seq) FROM events GROUP BY agent_id"
        )
        return {row[0]: Stored(*row[1:]) for row in self.rows(query)}

    def stored_seqs(self) -> dict[str, int]:
        """Per agent: the store's acked seq (everything up to it stored)."""
        return {row[0]: row[1] for row in self.rows("SELECT id, acked_seq FROM agents")}


async def _pg_rows(url: str, query: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return [tuple(record) for record in await conn.fetch(query)]
    finally:
        await conn.close()


class LoadRun:
    """`run_load` on a thread of its own, so the test can inject faults meanwhile."""

    def __init__(
        self, fleet: Fleet, agents: Sequence[SimulatedAgent], plan: LoadPlan, generate_s: float
    ) -> None:
        self.fleet = fleet
        self.agents = agents
        self._done = threading.Event()
        self.drained = False
        self._thread = threading.Thread(target=self._run, args=(plan, generate_s), daemon=True)
        self._thread.start()

    def _run(self, plan: LoadPlan, generate_s: float) -> None:
        try:
            self.drained = asyncio.run(run_load(self.agents, plan, generate_s, self._all_stored))
        finally:
            self._done.set()

    def _all_stored(self) -> bool:
        stored = self.fleet.stored_seqs()
        return all(stored.get(a.agent_id, 0) >= a.generated.last_seq for a in self.agents)

    def acked(self) -> int:
        """Events the platform acknowledged so far, over all agents."""
        return sum(a.acked_seq for a in self.agents)

    def wait_for_progress(self, events: int, what: str) -> None:
        """Wait until `events` more events are acknowledged than now."""
        target = self.acked() + events
        poll_until(lambda: self.acked() >= target, LOAD_TIMEOUT_S, what, interval=0.2)

    def stored(self) -> int:
        """Events the store holds so far, over all agents."""
        return sum(self.fleet.stored_seqs().values())

    def wait_for_stored(self, events: int, what: str) -> None:
        """Wait until the store holds `events` more events than now."""
        target = self.stored() + events
        poll_until(lambda: self.stored() >= target, LOAD_TIMEOUT_S, what, interval=0.5)

    def finish(self) -> None:
        """Wait for generation and draining to end; fail unless everything was stored."""
        assert self._done.wait(LOAD_TIMEOUT_S + DRAIN_TIMEOUT_S), "the load run did not end"
        assert self.drained, "not every event reached the store in time"

    def outage(self, seconds: float) -> None:
        """Every platform process down (nats-server too) for `seconds`, then up again."""
        for process in self.fleet.processes:
            process.kill()
        self.fleet.nats.stop(signal.SIGKILL)
        time.sleep(seconds)  # the outage the agents must ride out, spooling
        self.fleet.nats.start()
        self.fleet.start()


def assert_stored_once(fleet: Fleet, agents: Sequence[SimulatedAgent]) -> None:
    """Every generated event of every agent is in the store exactly once."""
    stored = fleet.stored()
    wrong = {
        a.agent_id: stored.get(a.agent_id)
        for a in agents
        if stored.get(a.agent_id) != Stored(*(a.generated.last_seq,) * 3)
    }
    assert not wrong, f"{len(wrong)} agents not stored exactly once, e.g. {list(wrong.items())[:3]}"


@contextlib.contextmanager
def fleet_on_postgres(
    root: Path,
    api_nodes: int = 2,
    workers: int = 2,
    settings: tuple[str, ...] = ("fsync=off", "full_page_writes=off"),
) -> Iterator[tuple[Fleet, PostgresServer]]:
    """PostgreSQL (commits synchronous; by default neither flushed to disk nor safe from a
    torn page: the tests need no host crash), nats-server and the fleet's processes, all
    under `root`."""
    postgres = start_postgres(settings=settings)
    nats = NatsServer(root / "jetstream")
    fleet: Fleet | None = None
    try:
        postgres.sql("CREATE DATABASE stockade")
        nats.start()
        fleet = Fleet(root, nats, api_nodes, workers, "postgresql", postgres.url("stockade"))
        yield fleet.start(), postgres
    finally:
        if fleet is not None:
            fleet.stop()
        nats.stop()
        postgres.stop()


def restart_postgres(server: PostgresServer) -> None:
    """Immediate shutdown (no checkpoint: recovery at start, as after a crash), then start."""
    server.process.send_signal(signal.SIGQUIT)
    server.process.wait(60)
    server.resume()
