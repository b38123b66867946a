"""Live query on a real platform and a real agent: the agent answers an inventory table
within seconds over its order channel, and its rows equal the machine's own truth."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stockade.agent import Agent
from tests.support.agent_runner import AgentRunner
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_value


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[PlatformRunner]:
    """A running real platform for one test."""
    server = PlatformRunner(tmp_path / "platform").start()
    yield server
    server.stop()


def answered(admin: httpx.Client, query_id: str) -> list[dict[str, Any]]:
    """The live query's answers that have ended."""
    view = admin.get(f"/api/v1/live-queries/{query_id}")
    assert view.status_code == 200, view.text
    return [a for a in view.json()["answers"] if a["status"] != "pending"]


@pytest.mark.root
@pytest.mark.server
def test_a_live_query_gets_the_agents_packages_now(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    """deb_packages asked live: bash's version is dpkg's; an unknown table fails in one line."""
    config = platform.agent_config(
        tmp_path / "agent",
        inventory=False,  # the answer can only come from the live query
    )
    admin = platform.login()
    with AgentRunner(Agent(config)) as runner:
        agent_id = runner.agent.agent_id
        started = admin.post(
            "/api/v1/live-queries",
            json={"table": "deb_packages", "agent_ids": [agent_id], "wait_s": 10},
        )
        assert started.status_code == 201, started.text
        query_id = started.json()["id"]
        answers = poll_value(lambda: answered(admin, query_id), bool, 30, "the live answer")
        bad = admin.post(
            "/api/v1/live-queries",
            json={"table": "no_such_table", "agent_ids": [agent_id], "wait_s": 10},
        )
        failed = poll_value(lambda: answered(admin, bad.json()["id"]), bool, 30, "the failure")
    assert answers[0]["status"] == "done", answers[0]
    versions = {r["name"]: r["version"] for r in answers[0]["rows"]}
    dpkg = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "bash"], capture_output=True, text=True, check=True
    )
    assert versions["bash"] == dpkg.stdout
    assert failed[0]["status"] == "failed"
    assert failed[0]["error"].startswith("query_table: unknown inventory table 'no_such_table'")
    assert "\n" not in failed[0]["error"]
