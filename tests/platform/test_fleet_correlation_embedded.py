"""Fleet correlations in the embedded platform (`stockade up`'s shape: one process, the
in-process bus, SQLite): the same subscribers as the workers judge them, so one rule on
three hosts raises one alert, a rule on two hosts none."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from stockade.model.alerts import Alert
from stockade.platform.timestamps import format_ns
from tests.support.agent_client import TestAgent
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server]

SPREAD = "Same detection on many hosts"


def _alert(agent: TestAgent, seq: int, rule: str, ts: int) -> Alert:
    return Alert(
        uuid=f"{agent.host_id}-{seq}",
        output=rule,
        priority="Error",
        rule=rule,
        time=format_ns(ts),
        output_fields={},
        host_id=agent.host_id,
        seq=seq,
    )


def test_the_embedded_platform_judges_fleet_correlations(
    running: PlatformRunner, tmp_path: Path
) -> None:
    agents = [
        running.enroll(tmp_path / f"a{i}", hostname=f"emb-{i}", host_id=f"emb-host-{i}")
        for i in range(3)
    ]
    now = time.time_ns()
    for i, agent in enumerate(agents):
        alerts = [_alert(agent, 1, "Embedded: everywhere", now + i)]
        if i < 2:  # the benign twin: one rule on two hosts only
            alerts.append(_alert(agent, 2, "Embedded: two hosts", now + i))
        # the in-process bus answers once every subscriber ran: judged when this returns
        answer = agent.send(agent.batch([], alerts))
        assert answer.status_code == 200, answer.text
    admin = running.login()
    try:
        found = admin.get("/api/v1/alerts", params={"rule": SPREAD}).json()
    finally:
        admin.close()
    rows = found["items"] if isinstance(found, dict) else found
    assert len(rows) == 1, rows
    assert "Embedded: everywhere" in str(rows[0])
