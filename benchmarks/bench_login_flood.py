"""Ingest events/s with and without a concurrent login flood on the console port.

Starts `stockade server` in its own process, enrolls one agent, then sends rounds of
pre-encoded batches, alternately alone and while another process's 16 threads post wrong
passwords from 16 loopback addresses (each soon locked out). Prints the median rate of each
and the flood's cost; the goal is under 10 %.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from multiprocessing.queues import Queue
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

ROUNDS = 5
FLOOD_THREADS = 16


def _flood_thread(
    console_url: str, ca_path: str, source: str, stop: Event, answers: Queue[int]
) -> None:
    verify = ssl.create_default_context(cafile=ca_path)
    transport = httpx.HTTPTransport(verify=verify, local_address=source)
    with httpx.Client(base_url=console_url, transport=transport, timeout=30) as c:
        n = 0
        while not stop.is_set():
            body = {"username": f"guess{n % 50}", "password": f"wrong-{n}"}
            answers.put(c.post("/api/v1/auth/login", json=body).status_code)
            n += 1


def _flood_process(console_url: str, ca_path: str, stop: Event, answers: Queue[int]) -> None:
    """FLOOD_THREADS threads, one loopback address each, posting wrong passwords until `stop`."""
    threads = [
        threading.Thread(
            target=_flood_thread, args=(console_url, ca_path, f"127.0.1.{n + 1}", stop, answers)
        )
        for n in range(FLOOD_THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class LoginFlood:
    """A login flood in its own process (the sender here keeps its interpreter to itself)."""

    def __init__(self, console_url: str, ca_path: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.statuses: Counter[int] = Counter()
        self._stop = context.Event()
        self._answers: Queue[int] = context.Queue()
        self._process = context.Process(
            target=_flood_process, args=(console_url, str(ca_path), self._stop, self._answers)
        )

    def __enter__(self) -> LoginFlood:
        self._process.start()
        while self._answers.empty():  # the flood is under way before measuring starts
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._process.join()
        while not self._answers.empty():
            self.statuses[self._answers.get()] += 1


def main() -> int:
    """Print median ingest events/s alone and during a login flood."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        server, agent_url, ca_pem, console_url = _start_server(data_dir)
        ca_path = data_dir / "platform" / "pki" / "ca.crt"
        agent_id, client = _enroll(agent_url, ca_pem, _token(data_dir), data_dir, 0)
        seq = 1
        alone: list[float] = []
        flooded: list[float] = []
        flood_statuses: Counter[int] = Counter()
        for _ in range(ROUNDS):
            for rates, flooding in ((alone, False), (flooded, True)):
                bodies = _batches(agent_id, seq, BATCHES_PER_ROUND)
                seq += BATCHES_PER_ROUND * BATCH_EVENTS
                flood = LoginFlood(console_url, ca_path)
                with flood if flooding else contextlib.nullcontext():
                    started = time.perf_counter()
                    _send_all(client, bodies)
                    elapsed = time.perf_counter() - started
                rates.append(BATCHES_PER_ROUND * BATCH_EVENTS / elapsed)
                flood_statuses += flood.statuses
        client.close()
        server.terminate()
        server.wait(30)
    quiet, busy = statistics.median(alone), statistics.median(flooded)
    print(f"ingest_without_login_flood_median: {quiet:.0f} events/s")
    print(f"ingest_during_login_flood_median: {busy:.0f} events/s")
    print(f"ingest_login_flood_cost: {100 * (1 - busy / quiet):.1f} %")
    answers = ", ".join(f"{status}: {n}" for status, n in sorted(flood_statuses.items()))
    print(f"login_flood_answers: {answers}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
