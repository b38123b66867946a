"""A running agent's inventory on a real platform: at start, then a user added and removed
on this machine is found by the agent's change polling and sent as differences."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from stockade.agent import Agent
from stockade.agent.hostinfo import host_id
from tests.support.agent_runner import AgentRunner
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_until


def host_users(admin: httpx.Client, host: str) -> set[str] | None:
    """The host's own user names on the platform; None before its inventory arrived."""
    page = admin.get(f"/api/v1/hosts/{host}/inventory/users", params={"limit": 1000})
    if page.status_code != 200 or not page.json()["total"]:
        return None
    return {r["username"] for r in page.json()["rows"] if r["container"] == ""}


@pytest.mark.root
@pytest.mark.server
def test_running_agent_sends_inventory_and_user_changes(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    name = f"inv{uuid.uuid4().hex[:8]}"
    config = platform.agent_config(tmp_path / "agent", inventory_poll_s=0.5)
    host = host_id(config.state_dir)
    try:
        with AgentRunner(Agent(config)), contextlib.closing(platform.login()) as admin:
            users = poll_until(lambda: host_users(admin, host), 60, "the agent's first inventory")
            assert "root" in users and name not in users
            subprocess.run(["useradd", "-M", "-s", "/bin/false", name], check=True)
            poll_until(lambda: name in (host_users(admin, host) or ()), 60, "the added user's row")
            subprocess.run(["userdel", name], check=True)
            poll_until(lambda: name not in (host_users(admin, host) or {name}), 60, "its removal")
            history = admin.get(f"/api/v1/hosts/{host}/changes", params={"table": "users"})
            changes = {(c["change"], c["row"]["username"]) for c in history.json()}
            assert {("added", name), ("removed", name)} <= changes
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False)
