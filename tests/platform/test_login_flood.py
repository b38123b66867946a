"""Login floods: locked out and logged, the owner still gets in from elsewhere, ingest goes on."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from stockade.platform.services.accounts import LoginPacing
from tests.support.agent_client import make_event
from tests.support.platform_runner import PlatformRunner

pytestmark = pytest.mark.server
FLOOD_THREADS = 16
FLOOD_ATTEMPTS = 320
EVENTS_PER_BATCH = 100
# Who is refused and what is logged is tested here, not how late the answers come: with
# the production pacing (0.5 s per failure, 1 s per refusal) each flood took ~20 s.
PLATFORM_CONFIG = {"login_pacing": LoginPacing(failure_delay_s=0.05, refusal_delay_s=0.05)}


def _flood(running: PlatformRunner, username: str, attempts: int, source: str) -> Counter[int]:
    """`attempts` wrong passwords from `source` on FLOOD_THREADS threads; counts the statuses."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def worker(share: int) -> None:
        with running.console(source) as c:
            for i in range(share):
                r = c.post("/api/v1/auth/login", json={"username": username, "password": f"g{i}"})
                with lock:
                    statuses[r.status_code] += 1

    shares = [attempts // FLOOD_THREADS] * FLOOD_THREADS
    shares[0] += attempts % FLOOD_THREADS
    with ThreadPoolExecutor(FLOOD_THREADS) as pool:
        list(pool.map(worker, shares))
    return statuses


def test_flood_locks_out_is_logged_and_the_owner_gets_in_elsewhere(
    running: PlatformRunner, admin: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="stockade.platform.services.accounts")
    statuses = _flood(running, "admin", FLOOD_ATTEMPTS, "127.0.0.1")
    assert statuses[200] == 0
    # a few wrong guesses are checked; the rest are refused unchecked: locked out (429) or,
    # while the hashing pool is busy, turned away for a moment (429 with Retry-After: 1)
    assert statuses[401] <= 5 + FLOOD_THREADS, statuses
    assert statuses[429] >= FLOOD_ATTEMPTS - 5 - FLOOD_THREADS, statuses
    assert statuses[429] > FLOOD_ATTEMPTS // 2, statuses
    assert running.login_status("127.0.0.1", "admin", running.admin_password) == 429
    assert running.login_status("127.0.0.2", "admin", running.admin_password) == 200
    locked = [r.getMessage() for r in caplog.records if "login locked out" in r.getMessage()]
    assert len(locked) == 1, locked
    audit = admin.get("/api/v1/audit", params={"limit": 1000}).json()
    lockouts = [a for a in audit if a["method"] == "LOCKOUT"]
    assert lockouts and lockouts[0]["source"] == "127.0.0.1", audit[:5]
    assert "'admin' from 127.0.0.1" in lockouts[0]["path"]
    failed = [a for a in audit if a["path"] == "/api/v1/auth/login" and a["status"] == 401]
    assert failed and failed[0]["username"] == "admin"
    # the refusals are counted, not written one by one: the first at once, the rest per minute
    refused = [a for a in audit if a["method"] == "LOGIN_REFUSED" and a["source"] == "127.0.0.1"]
    assert refused and "refused" in refused[-1]["path"], audit[:5]
    assert len(refused) < statuses[429] // 10, refused


def test_ingest_keeps_running_during_a_login_flood(
    running: PlatformRunner, admin: httpx.Client, tmp_path: Path
) -> None:
    agent = running.enroll(tmp_path, hostname="busy-node")
    flooding = threading.Event()
    flooding.set()
    sent: list[int] = []  # statuses of batches sent while the flood ran

    def ingest() -> None:
        seq = 1
        while flooding.is_set():
            now = time.time_ns()
            events = [make_event(seq + i, now) for i in range(EVENTS_PER_BATCH)]
            sent.append(agent.send(agent.batch(events)).status_code)
            seq += EVENTS_PER_BATCH

    sender = threading.Thread(target=ingest)
    sender.start()
    try:
        statuses = _flood(running, "nobody", FLOOD_ATTEMPTS, "127.0.0.5")
    finally:
        flooding.clear()
        sender.join(60)
    assert statuses[200] == 0 and statuses[429] > 0, statuses
    assert len(sent) >= 2, "no batch went in while the flood ran"
    assert set(sent) == {200}, Counter(sent)
    agents = {a["id"]: a for a in admin.get("/api/v1/agents").json()}
    assert agents[agent.agent_id]["acked_seq"] == len(sent) * EVENTS_PER_BATCH  # all stored
