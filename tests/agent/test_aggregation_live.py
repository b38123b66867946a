"""Aggregated alerts through the real agent pipeline (eBPF) to the real platform's store and API."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stockade.agent import Agent
from stockade.platform.store import AlertQuery
from tests.support.agent_runner import AgentRunner
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_value

MARKER = "stockade-aggregation-marker"
RULE = f"""\
- rule: Aggregation marker run
  desc: the test's own marker command
  condition: evt.type in (execve, execveat) and proc.args = {MARKER}
  output: marker run %proc.cmdline pid=%proc.pid
  priority: NOTICE
"""
RUNS = 5


@pytest.mark.root
@pytest.mark.ebpf
@pytest.mark.server
def test_repeated_alerts_reach_the_platform_as_one_with_their_count(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    rules = tmp_path / "marker.yaml"
    rules.write_text(RULE)
    config = platform.agent_config(
        tmp_path / "agent",
        rules=(rules,),
        alert_window_s=3600,  # the repeats leave when the agent stops, not before
    )
    agent = Agent(config)
    runner = AgentRunner(agent).start()
    with contextlib.closing(platform.login()) as admin:

        def marker_alerts() -> list[dict[str, Any]]:
            r = admin.get("/api/v1/alerts", params={"rule": "Aggregation marker run"})
            r.raise_for_status()
            found: list[dict[str, Any]] = r.json()["items"]
            return found

        for _ in range(RUNS):  # distinct pids, otherwise identical
            subprocess.run(["/bin/true", MARKER], check=True)
        [first] = poll_value(marker_alerts, bool, 30, "the first marker alert, sent at once")
        assert first["count"] == 1
        runner.stop()  # flushes the counted repeats
        alerts = poll_value(
            marker_alerts, lambda found: len(found) == 2, 30, "the aggregated marker alert"
        )
    assert sorted(a["count"] for a in alerts) == [1, RUNS - 1]
    platform.stop()
    with platform.stored() as store:
        stored = store.query_alerts(AlertQuery(rule="Aggregation marker run"))
    assert sorted(s.alert.count for s in stored) == [1, RUNS - 1]
