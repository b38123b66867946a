"""Saved hunts on a real platform: CRUD under /api/v1/hunts, and a scheduled run that finds
rows raising an alert that the alerts view (and a hunt over it) shows and the outputs get."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stockade.outputs.settings import OutputSettings, OutputsQueue, WebhookOutput
from tests.support.http_receivers import WebhookReceiver
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_until, poll_value

WEBHOOK_SECRET = "hunt-webhook-secret"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[PlatformRunner]:
    """A running real platform for one test."""
    server = PlatformRunner(tmp_path / "platform").start()
    yield server
    server.stop()


def hunt_rows(admin: httpx.Client, sql: str) -> list[list[Any]]:
    """The rows of one hunt (asserting 200)."""
    answer = admin.post("/api/v1/hunt", json={"sql": sql})
    assert answer.status_code == 200, answer.text
    rows: list[list[Any]] = answer.json()["rows"]
    return rows


@pytest.mark.server
def test_a_saved_hunt_that_finds_rows_raises_an_alert(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    """A hunt over the platform's hosts (one enrolled agent) runs on schedule and alerts."""
    agent = platform.enroll(tmp_path, hostname="hunted-node")
    admin = platform.login()
    body = {
        "name": "hunted node seen",
        "sql": "SELECT hostname FROM hosts WHERE hostname = 'hunted-node'",
        "interval_s": 1,
        "priority": "Error",
    }
    created = admin.post("/api/v1/hunts", json=body)
    assert created.status_code == 201, created.text
    hunt_id = created.json()["id"]
    assert admin.post("/api/v1/hunts", json=body).status_code == 409

    alerts = poll_value(
        lambda: hunt_rows(
            admin, "SELECT rule, priority, output FROM alerts WHERE rule LIKE 'Hunt: %'"
        ),
        bool,
        30,
        "the saved hunt's alert",
    )
    rule, priority, output = alerts[0]
    assert (rule, priority) == ("Hunt: hunted node seen", "Error")
    assert output.endswith(": Error saved hunt 'hunted node seen' found 1 rows")  # Falco's shape
    stored = admin.get(f"/api/v1/hunts/{hunt_id}").json()
    assert stored["alerts"] >= 1 and stored["last_rows"] == 1 and stored["last_error"] == ""
    listed = admin.get("/api/v1/alerts", params={"rule": "Hunt: hunted node seen"})
    assert listed.status_code == 200, listed.text

    off = {**body, "enabled": False, "sql": "SELECT 1 FROM hosts"}
    changed = admin.put(f"/api/v1/hunts/{hunt_id}", json=off)
    assert changed.status_code == 200, changed.text
    assert changed.json()["enabled"] is False
    assert admin.delete(f"/api/v1/hunts/{hunt_id}").status_code == 204
    assert admin.get(f"/api/v1/hunts/{hunt_id}").status_code == 404
    assert admin.get("/api/v1/hunts").json() == []
    assert agent.agent_id


@pytest.mark.server
def test_a_saved_hunt_that_writes_is_refused_in_one_line(platform: PlatformRunner) -> None:
    """A saved hunt is checked before it is stored: a write is a 400 with a one-line reason."""
    admin = platform.login()
    body = {"name": "bad", "sql": "INSERT INTO alerts (rule) VALUES ('x')", "interval_s": 60}
    refused = admin.post("/api/v1/hunts", json=body)
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("hunt: only SELECT")
    assert admin.get("/api/v1/hunts").json() == []


@pytest.mark.server
def test_a_saved_hunts_alert_goes_to_the_outputs(tmp_path: Path) -> None:
    """The alert a scheduled hunt raises reaches the platform's outputs as agents' alerts do."""
    receiver = WebhookReceiver(WEBHOOK_SECRET).start()
    runner = PlatformRunner(tmp_path / "platform")
    hook = WebhookOutput(enabled=True, url=receiver.url + "/hook", secret=WEBHOOK_SECRET)
    settings = OutputSettings(
        webhook_output=hook,
        outputs_queue=OutputsQueue(retry_initial=0.05, retry_max=0.5, drain_timeout=2),
    )
    runner.config = dataclasses.replace(runner.config, outputs=settings)
    runner.start()
    try:
        runner.enroll(tmp_path / "agent", hostname="forwarded-node")
        body = {
            "name": "forwarded node seen",
            "sql": "SELECT hostname FROM hosts WHERE hostname = 'forwarded-node'",
            "interval_s": 3600,
            "priority": "Critical",
        }
        assert runner.login().post("/api/v1/hunts", json=body).status_code == 201
        poll_until(lambda: receiver.alerts, 30, "the hunt's alert at the webhook")
    finally:
        runner.stop()
        receiver.stop()
    (alert,) = receiver.alerts  # one run in the hour: one alert
    assert (alert["rule"], alert["priority"]) == ("Hunt: forwarded node seen", "Critical")
    assert alert["output"].endswith(": Critical saved hunt 'forwarded node seen' found 1 rows")
