"""Revoking an agent: every agent route refuses its certificate within 5 s, whether the
revocation came through the console API or `stockade agent revoke` on the database."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import httpx
import msgspec
import pytest
from typer.testing import CliRunner

from stockade.cli.datadir import platform_dir
from stockade.cli.main import app
from stockade.model.wire import SCAN_CONTENT_TYPE, RenewRequest, SensorStatus
from tests.support.agent_client import TestAgent, key_and_csr, make_event
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_until

pytestmark = pytest.mark.server

REVOKED_WITHIN_S = 5


def _refused_everywhere(agent: TestAgent) -> list[int]:
    """The status of each agent route called with the agent's certificate."""
    _, csr = key_and_csr(agent.agent_id)
    c = agent.client
    return [
        c.get("/api/v1/agent/ack").status_code,
        agent.send(agent.batch([make_event(1, time.time_ns(), host_id=agent.host_id)])).status_code,
        agent.heartbeat(SensorStatus(source="x")).status_code,
        c.post(
            "/api/v1/agent/renew", content=msgspec.json.encode(RenewRequest(csr_pem=csr))
        ).status_code,
        c.get("/api/v1/agent/scans/sha256:" + "1" * 64).status_code,
        c.post(
            "/api/v1/agent/scans", content=b"{}", headers={"Content-Type": SCAN_CONTENT_TYPE}
        ).status_code,
    ]


def test_a_revoked_agent_is_refused_on_every_route(
    running: PlatformRunner, admin: httpx.Client, tmp_path: Path
) -> None:
    agent = running.enroll(tmp_path / "gone")
    other = running.enroll(tmp_path / "stays", host_id="host-stays")
    assert agent.client.get("/api/v1/agent/ack").status_code == 200
    r = admin.delete(f"/api/v1/agents/{agent.agent_id}")
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert _refused_everywhere(agent) == [403] * 6
    [row] = [a for a in admin.get("/api/v1/agents").json() if a["id"] == agent.agent_id]
    assert row["status"] == "revoked" and row["revoked_at"]
    assert admin.delete("/api/v1/agents/no-such-agent").status_code == 404
    assert running.console().delete(f"/api/v1/agents/{other.agent_id}").status_code == 401
    for role in ("viewer", "analyst"):  # revoking is an admin's alone
        with contextlib.closing(running.add_user(f"revoker-{role}", role)) as user:
            assert user.delete(f"/api/v1/agents/{other.agent_id}").status_code == 403
    assert other.client.get("/api/v1/agent/ack").status_code == 200


def test_a_revocation_on_the_database_reaches_the_running_listener(tmp_path: Path) -> None:
    running = PlatformRunner(platform_dir(tmp_path)).start()
    try:
        agent = running.enroll(tmp_path / "agent")
        event = make_event(1, time.time_ns(), host_id=agent.host_id)
        assert agent.send(agent.batch([event])).status_code == 200  # the listener knows it
        result = CliRunner().invoke(
            app, ["agent", "revoke", agent.agent_id, "--data-dir", str(tmp_path)]
        )
        assert result.exit_code == 0, result.output
        assert f"agent {agent.agent_id} revoked" in result.stdout
        poll_until(
            lambda: agent.client.get("/api/v1/agent/ack").status_code == 403,
            REVOKED_WITHIN_S,
            "the listener to refuse the revoked agent",
        )
        assert _refused_everywhere(agent) == [403] * 6
        unknown = CliRunner().invoke(
            app, ["agent", "revoke", "nobody", "--data-dir", str(tmp_path)]
        )
        assert unknown.exit_code == 2 and "no agent 'nobody'" in unknown.output
    finally:
        running.stop()
