"""A running agent with FIM and baseline checks on: a watched file's change reaches the
platform as an alert through the agent's spool and transport, like the rules' alerts, and
its baseline results are stored for its host."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stockade.agent.daemon import Agent
from stockade.host.fim_policy import FimPolicy
from stockade.sensor.fallback import parse_chain
from tests.support.agent_runner import AgentRunner
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_until

RULE = "File integrity: watched file changed"


@pytest.mark.root
@pytest.mark.server
def test_fim_alert_reaches_the_platform(platform: PlatformRunner, tmp_path: Path) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    target = watched / "sshd_config"
    target.write_text("PermitRootLogin no\n")
    config = platform.agent_config(
        tmp_path / "agent",
        sources=parse_chain(["proc_connector"]),
        inventory=False,
        fim=FimPolicy(paths=(str(watched),), containers=False),
    )
    agent = Agent(config)
    with AgentRunner(agent), contextlib.closing(platform.login()) as admin:

        def stored() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = admin.get("/api/v1/alerts", params={"rule": RULE}).json()[
                "items"
            ]
            return items

        # the monitor's first scan runs on its own thread: change it until a change is seen;
        # each writer stays alive (blocked on its stdin) so the monitor can read its exe
        writes = iter(range(1000))
        writers: list[subprocess.Popen[bytes]] = []

        def changed() -> list[dict[str, Any]]:
            line = f"PermitRootLogin yes # {next(writes)}"
            script = f"echo '{line}' > {target}; read _"
            writers.append(subprocess.Popen(["/bin/sh", "-c", script], stdin=subprocess.PIPE))
            return [i for i in stored() if "proc.exepath=/usr/bin/dash" in i["output"]]

        try:
            items = poll_until(changed, 30, "the FIM alert on the platform", interval=0.5)
        finally:
            for writer in writers:
                writer.communicate(b"\n", timeout=10)
    assert items[0]["rule"] == RULE


@pytest.mark.root
@pytest.mark.server
@pytest.mark.slow
def test_agent_sends_its_baseline_results(platform: PlatformRunner, tmp_path: Path) -> None:
    config = platform.agent_config(
        tmp_path / "agent", sources=parse_chain(["proc_connector"]), inventory=False, baseline=True
    )
    agent = Agent(config)
    with AgentRunner(agent), contextlib.closing(platform.login()) as admin:
        host_id = poll_until(
            lambda: [a["host_id"] for a in admin.get("/api/v1/agents").json()],
            30,
            "the agent's host",
        )[0]

        def policies() -> list[str]:
            answer = admin.get(f"/api/v1/hosts/{host_id}/baseline").json()
            return sorted(p["policy_id"] for p in answer["policies"])

        assert poll_until(policies, 180, "the agent's baseline results") == ["debian12", "linux"]
