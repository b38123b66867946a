"""Hunting over what a real agent collected on a real platform: its alerts, events and
inventory, through `POST /api/v1/hunt` and `stockade hunt` on the platform's data dir."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from stockade.agent import Agent
from stockade.cli.main import app
from tests.support.agent_runner import AgentRunner
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_value

RULE = """
- rule: Hunt marker sleep
  desc: the test's own exec
  condition: evt.type = execve and proc.name = sleep and proc.args contains "0.523"
  output: "hunt marker ran (proc.cmdline=%proc.cmdline)"
  priority: WARNING
  tags: [test]
"""

SIGMA_RULE = """
title: Hunt marker sleep (Sigma)
id: 5f1d2c1e-8d43-4b1e-9a57-3c2e4d3a0b11
status: test
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        Image|endswith: '/sleep'
        CommandLine|contains: '0.523'
    condition: selection
level: medium
"""


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[PlatformRunner]:
    """A running real platform for one test."""
    server = PlatformRunner(tmp_path / "data" / "platform").start()
    yield server
    server.stop()


def hunt(admin: httpx.Client, sql: str) -> dict[str, Any]:
    """POST one hunt; its JSON answer (asserting 200)."""
    answer = admin.post("/api/v1/hunt", json={"sql": sql})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def rows_when_any(admin: httpx.Client, sql: str) -> list[list[Any]]:
    """The hunt's rows once it returns some (polled: the agent sends in batches)."""
    rows: list[list[Any]] = poll_value(
        lambda: hunt(admin, sql)["rows"], bool, 60, f"rows for {sql}"
    )
    return rows


@pytest.mark.root
@pytest.mark.ebpf
@pytest.mark.server
def test_hunts_find_a_real_agents_alert_event_and_packages(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    """An exec the test makes is found as an alert and an event; packages equal dpkg's."""
    rules = tmp_path / "marker.yaml"
    rules.write_text(RULE)
    config = platform.agent_config(tmp_path / "agent", rules=(rules,))
    admin = platform.login()
    with AgentRunner(Agent(config)):
        subprocess.run(["/bin/sleep", "0.523"], check=True)
        alerts = rows_when_any(
            admin,
            "SELECT rule, proc_cmdline, host_id FROM alerts WHERE rule = 'Hunt marker sleep'",
        )
        assert alerts[0][1] == "sleep 0.523"
        events = rows_when_any(
            admin,
            "SELECT evt_type, proc_name FROM events WHERE proc_name = 'sleep' "
            "AND evt_type = 'execve'",
        )
        assert events[0] == ["execve", "sleep"]
        bash = rows_when_any(
            admin, "SELECT version FROM deb_packages WHERE name = 'bash' AND container = ''"
        )
    dpkg = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "bash"], capture_output=True, text=True, check=True
    )
    assert bash == [[dpkg.stdout]]

    sigma = admin.post("/api/v1/hunt/sigma", json={"yaml": SIGMA_RULE})
    assert sigma.status_code == 200, sigma.text
    assert sigma.json()["refused"] == []
    assert "sleep 0.523" in [m["proc_cmdline"] for m in sigma.json()["matches"]]

    written = admin.post("/api/v1/hunt", json={"sql": "DELETE FROM alerts"})
    assert written.status_code == 400 and written.json()["detail"].startswith("hunt: ")
    out = CliRunner().invoke(
        app,
        ["hunt", "--json", "--data-dir", str(tmp_path / "data"), "SELECT rule FROM alerts"],
    )
    assert out.exit_code == 0, out.output
    assert ["Hunt marker sleep"] in json.loads(out.stdout)["rows"]
    refused = CliRunner().invoke(
        app, ["hunt", "--data-dir", str(tmp_path / "data"), "ATTACH 'x.db' AS x"]
    )
    assert refused.exit_code != 0
    assert refused.stderr.count("\n") == 1 and "only SELECT" in refused.stderr
