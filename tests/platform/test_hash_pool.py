"""The password hashing pool's bound: at most workers + queue hashes at once, the rest
refused at once (HashPoolBusy) rather than queued; failed logins at most `rate` a second
in bursts of `burst`; a good login gives its turn back. On a real platform, a flood of wrong
passwords for a real account (each hashed, unlike an unknown name's) from many addresses
is mostly turned away with 429 and Retry-After: 1 while ingest goes on, and the owner
still logs in."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from stockade.platform.services.accounts import LoginPacing
from stockade.platform.services.hash_pool import HashPool, HashPoolBusy
from tests.support.agent_client import make_event
from tests.support.platform_runner import USER_PASSWORD, PlatformRunner

WORKERS, QUEUE = 1, 2
FLOOD_ADDRESSES = 16  # one thread each: no single address reaches its lockout quickly
ATTEMPTS_EACH = 8
EVENTS_PER_BATCH = 100
BUSY = "too many logins at once; try again in a moment"
# the pool's production rate and burst; answers paced faster than production so the flood
# is short (what is refused is tested here, not how late)
PLATFORM_CONFIG = {"login_pacing": LoginPacing(failure_delay_s=0.05, refusal_delay_s=0.05)}


def test_hashes_beyond_workers_and_queue_are_refused_not_queued() -> None:
    pool = HashPool(workers=WORKERS, queue=QUEUE, rate=1000, burst=1000)
    release = threading.Event()
    started = threading.Semaphore(0)

    def slow_hash() -> str:
        started.release()
        release.wait(30)
        return "hashed"

    async def flood() -> list[object]:
        calls = [asyncio.ensure_future(pool.run(slow_hash)) for _ in range(WORKERS + QUEUE + 3)]
        await asyncio.sleep(0)  # every call has asked the pool for its place
        refused = [c for c in calls if c.done()]
        assert len(refused) == 3 and all(isinstance(c.exception(), HashPoolBusy) for c in refused)
        assert not pool.has_turn()  # a login now is turned away before any store read
        await asyncio.get_running_loop().run_in_executor(None, started.acquire)
        release.set()
        return list(await asyncio.gather(*calls, return_exceptions=True))

    try:
        results = asyncio.run(flood())
    finally:
        release.set()
        pool.close()
    assert results.count("hashed") == WORKERS + QUEUE


def test_failed_logins_spend_the_rate_and_good_ones_give_it_back() -> None:
    pool = HashPool(rate=0.001, burst=2)  # refilled too slowly to matter here
    pool.admit()
    pool.admit()
    with pytest.raises(HashPoolBusy, match="too many logins at once"):
        pool.admit()
    pool.refund()  # the second login succeeded
    pool.admit()
    pool.close()


def _flood(running: PlatformRunner, username: str) -> Counter[tuple[int, str, str]]:
    """Wrong passwords for `username`, each address on its own thread: (status, detail,
    Retry-After) counted."""
    answers: Counter[tuple[int, str, str]] = Counter()
    lock = threading.Lock()

    def guesser(address: str) -> None:
        with running.console(address) as c:
            for i in range(ATTEMPTS_EACH):
                r = c.post("/api/v1/auth/login", json={"username": username, "password": f"g{i}"})
                with lock:
                    answers[
                        r.status_code, r.json()["detail"], r.headers.get("Retry-After", "")
                    ] += 1

    addresses = [f"127.0.3.{i + 1}" for i in range(FLOOD_ADDRESSES)]
    with ThreadPoolExecutor(FLOOD_ADDRESSES) as pool:
        list(pool.map(guesser, addresses))
    return answers


@pytest.mark.server
def test_a_flood_on_a_real_account_is_bounded_and_ingest_goes_on(
    running: PlatformRunner, tmp_path: Path
) -> None:
    running.add_user("flooded", "viewer").close()
    agent = running.enroll(tmp_path, hostname="hashing-node", host_id="hashing-host")
    flooding = threading.Event()
    flooding.set()
    sent: list[int] = []

    def ingest() -> None:
        seq = 1
        while flooding.is_set():
            now = time.time_ns()
            events = [
                make_event(seq + i, now, host_id=agent.host_id) for i in range(EVENTS_PER_BATCH)
            ]
            sent.append(agent.send(agent.batch(events)).status_code)
            seq += EVENTS_PER_BATCH

    sender = threading.Thread(target=ingest)
    sender.start()
    try:
        answers = _flood(running, "flooded")
    finally:
        flooding.clear()
        sender.join(60)
    statuses = Counter(status for status, _, _ in answers.elements())
    assert set(statuses) <= {401, 429}, answers  # never a 5xx, never let in
    assert answers[429, BUSY, "1"] > 0, answers  # the pool's bound: turned away for a moment
    assert statuses[401] < statuses[429], answers  # most guesses never reached a hash
    assert len(sent) >= 2 and set(sent) == {200}, Counter(sent)
    running.login("flooded", USER_PASSWORD).close()  # the owner still gets in
