"""No loss: with the platform down the agent spools; after restarts every event arrives once.

The agent is also killed with SIGKILL while events sit in its spool unsent (written, not
sent) and again while it is sending; the count of exec events the test caused must equal
the count stored, with no duplicates.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    STOCKADE,
    free_port_pair,
    login,
    poll_until,
    start,
    stop,
    wait_for_line,
)

RUNS_PER_PHASE = 20
# Events reach the spool within ~1.5 s (held up to 1 s for container metadata, then
# fsync'd within 0.5 s); a SIGKILL before that loses what only lived in memory.
SPOOLED_WITHIN_S = 2.5


def run_unique_binary(binary: Path, times: int) -> None:
    """Exec `binary` `times` times; each process lives long enough to be read from /proc."""
    for _ in range(times):
        subprocess.run([str(binary), "0.05"], check=True)


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
    platform_dir, agent_dir = tmp_path / "platform", tmp_path / "agent"
    agent_args = [
        "agent",
        "--state-dir",
        str(agent_dir),
        "--server",
        f"https://127.0.0.1:{port + 1}",
    ]

    server = start_server(platform_dir, port)
    token = (
        subprocess.run(
            [*STOCKADE, "token", "create", "--data-dir", str(platform_dir)],
            capture_output=True,
            check=True,
            timeout=60,
        )
        .stdout.decode()
        .strip()
        .splitlines()[-1]
    )
    agent = start([*agent_args, "--enroll", token])
    try:
        wait_for_line(agent, "agent running")
        run_unique_binary(binary, RUNS_PER_PHASE)  # phase 1: platform up

        assert stop(server) == 0
        run_unique_binary(binary, RUNS_PER_PHASE)  # phase 2: platform down, agent spools
        time.sleep(SPOOLED_WITHIN_S)  # spooled and fsync'd; nothing can be sent
        agent.send_signal(signal.SIGKILL)  # written to the spool, never sent
        agent.wait(10)

        agent = start(agent_args)  # no token: the client certificate authenticates now
        wait_for_line(agent, "agent running")
        run_unique_binary(binary, RUNS_PER_PHASE)  # phase 3: platform still down

        server = start_server(platform_dir, port)
        run_unique_binary(binary, RUNS_PER_PHASE)  # phase 4: platform back
        time.sleep(SPOOLED_WITHIN_S)
        agent.send_signal(signal.SIGKILL)  # possibly mid-send: acked or not, resent once
        agent.wait(10)
        agent = start(agent_args)
        wait_for_line(agent, "agent running")

        expected = 4 * RUNS_PER_PHASE
        api = login(f"http://127.0.0.1:{port}")

        def stored() -> list[dict[str, object]]:
            answer = api.get(
                "/api/v1/events", params={"proc_name": name, "type": "execve", "limit": 10000}
            )
            answer.raise_for_status()
            events: list[dict[str, object]] = answer.json()
            return events

        events = poll_until(stored, lambda e: len(e) >= expected, timeout=60)
        assert isinstance(events, list)
        assert len(events) == expected
        keys = {(e["agent_id"], e["seq"]) for e in events}
        assert len(keys) == expected, "an event was stored twice"
    finally:
        for proc in (agent, server):
            if proc.poll() is None:
                stop(proc)
