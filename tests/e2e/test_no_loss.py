"""No loss: with the platform down the agent spools; after restarts every event arrives once.

The agent is also killed with SIGKILL while events sit in its spool unsent (written, not
sent) and again while it is sending; the count of exec events the test caused must equal
the count stored, with no duplicates.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from stockade.agent import records
from stockade.model import Event
from tests.support.polling import poll_until, poll_value
from tests.support.ports import free_port_pair
from tests.support.processes import STOCKADE, login, start, stop, wait_for_line

RUNS_PER_PHASE = 20
# Events reach the spool within ~1.5 s (held up to 1 s for container metadata); a SIGKILL
# before they are written loses what only lived in memory, so the test waits for them.
SPOOLED_WITHIN_S = 30


def run_unique_binary(binary: Path, times: int) -> set[int]:
    """Exec `binary` `times` times (each lives long enough to be read from /proc); the pids."""
    pids = set()
    for _ in range(times):
        proc = subprocess.Popen([str(binary), "0.05"])
        assert proc.wait(30) == 0
        pids.add(proc.pid)
    return pids


def spooled_pids(spool_dir: Path, name: str) -> set[int]:
    """Pids of the `name` exec events written to the spool (read from its segment files)."""
    pids = set()
    for segment in spool_dir.glob("*.seg"):
        try:
            data = segment.read_bytes()
        except FileNotFoundError:  # acked and trimmed meanwhile: stored, counted there
            continue
        for offset, end, seq, kind in records.scan(data):
            if kind != records.KIND_EVENT:
                continue
            event = records.decode(records.raw(data, offset, end, seq, kind))
            if isinstance(event, Event) and event.type == "execve" and event.proc.name == name:
                pids.add(event.proc.pid)
    return pids


def wait_spooled(
    spool_dir: Path, name: str, pids: set[int], stored: Callable[[], set[int]] = set
) -> None:
    """Wait until every pid's exec event is in the spool, or already stored and trimmed."""
    poll_until(
        lambda: pids <= spooled_pids(spool_dir, name) | stored(),
        SPOOLED_WITHIN_S,
        f"{len(pids)} exec events of {name} in the agent's spool",
        interval=0.2,
    )


def stored_events(api: httpx.Client, name: str) -> list[dict[str, object]]:
    """The platform's exec events of `name`."""
    answer = api.get("/api/v1/events", params={"proc_name": name, "type": "execve", "limit": 10000})
    answer.raise_for_status()
    events: list[dict[str, object]] = answer.json()
    return events


def stored_pids(api: httpx.Client, name: str) -> set[int]:
    """Pids of the platform's exec events of `name`."""
    return {e["proc"]["pid"] for e in stored_events(api, name)}  # type: ignore[index]


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """`stockade server` on the given ports; returns once it listens."""
    proc = start(["server", "--data-dir", str(data_dir), "--port", str(port)])
    wait_for_line(proc, "Stockade console:")
    return proc


@pytest.mark.root
@pytest.mark.ebpf
@pytest.mark.server
@pytest.mark.slow
def test_every_event_arrives_once_across_outages_and_kill_9(tmp_path: Path) -> None:
    name = f"stk{uuid.uuid4().hex[:8]}"
    binary = tmp_path / name
    shutil.copy("/bin/sleep", binary)
    port = free_port_pair()
    data_root, agent_dir = tmp_path, tmp_path / "agent"  # the platform's state in platform/
    spool_dir = agent_dir / "spool"
    agent_args = [
        "agent",
        "--state-dir",
        str(agent_dir),
        "--server",
        f"https://127.0.0.1:{port + 1}",
    ]

    server = start_server(data_root, port)
    created = subprocess.run(
        [*STOCKADE, "token", "create", "--data-dir", str(data_root)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    token = created.stdout.decode().strip().splitlines()[-1]
    pin = created.stderr.decode().strip().splitlines()[-1].rsplit(" ", 1)[-1]
    agent = start([*agent_args, "--enroll", token, "--ca-fingerprint", pin])
    try:
        wait_for_line(agent, "agent running")
        run_unique_binary(binary, RUNS_PER_PHASE)  # phase 1: platform up

        assert stop(server) == 0
        pids = run_unique_binary(binary, RUNS_PER_PHASE)  # phase 2: platform down, agent spools
        wait_spooled(spool_dir, name, pids)  # nothing can be sent
        agent.send_signal(signal.SIGKILL)  # written to the spool, never sent
        agent.wait(10)

        agent = start(agent_args)  # no token: the client certificate authenticates now
        wait_for_line(agent, "agent running")
        run_unique_binary(binary, RUNS_PER_PHASE)  # phase 3: platform still down

        server = start_server(data_root, port)
        pids = run_unique_binary(binary, RUNS_PER_PHASE)  # phase 4: platform back
        api = login(f"https://127.0.0.1:{port}", data_root)
        wait_spooled(spool_dir, name, pids, lambda: stored_pids(api, name))
        agent.send_signal(signal.SIGKILL)  # possibly mid-send: acked or not, resent once
        agent.wait(10)
        agent = start(agent_args)
        wait_for_line(agent, "agent running")

        expected = 4 * RUNS_PER_PHASE
        events = poll_value(
            lambda: stored_events(api, name),
            lambda e: len(e) >= expected,
            60,
            f"{expected} stored exec events of {name}",
        )
        assert len(events) == expected
        keys = {(e["agent_id"], e["seq"]) for e in events}
        assert len(keys) == expected, "an event was stored twice"
    finally:
        for proc in (agent, server):
            if proc.poll() is None:
                stop(proc)
