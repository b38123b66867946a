"""Profiles through a real platform on each store (SQLite, PostgreSQL): an agent's learned
behaviour stored, a mode switched, a profile exported and imported as the next version, and
the agent's push at a new revision."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec
import pytest

from stockade.profiles.profile import Behaviour, Kind
from stockade.profiles.wire import LearnedGroup, LearnedReport
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server]
STORE_KINDS = ("sqlite", "postgresql")  # every test runs on each store (conftest.py)
GROUP = "localhost-api-1a2b3c4d"


def test_learn_switch_export_and_import(
    running: PlatformRunner, admin: httpx.Client, tmp_path: Path
) -> None:
    agent = running.enroll(tmp_path, hostname="profiles-api-node", host_id="profiles-api-host")
    learned = [Behaviour(Kind.EXEC, "/usr/bin/python3"), Behaviour(Kind.LISTEN, "tcp/8080")]
    report = LearnedReport(
        groups=[LearnedGroup(id=GROUP, name="localhost/api", first_seen_ns=1, behaviours=learned)]
    )
    answer = agent.client.post("/api/v1/agent/profiles", content=msgspec.json.encode(report))
    assert answer.status_code == 200, answer.text
    revision = agent.client.get("/api/v1/agent/profiles").json()["revision"]

    switched = admin.put(f"/api/v1/groups/{GROUP}/mode", json={"network": "protect"})
    assert switched.status_code == 200, switched.text
    assert switched.json()["network_mode"] == "protect" and switched.json()["network_mode_set"]

    exported = admin.get(f"/api/v1/profiles/{GROUP}/yaml").text
    edited = exported.replace("executables:\n", "executables:\n- /usr/bin/id\n", 1)
    imported = admin.put(f"/api/v1/profiles/{GROUP}", json={"yaml": edited})
    assert imported.status_code == 200, imported.text
    versions = admin.get(f"/api/v1/profiles/{GROUP}/versions").json()
    assert [(v["version"], v["created_by"]) for v in versions] == [
        (2, "admin"),
        (1, "agent " + agent.agent_id),
    ]
    push = agent.client.get("/api/v1/agent/profiles", params={"revision": revision}).json()
    assert push["revision"] > revision
    [pushed] = [g for g in push["groups"] if g["profile"]["group"] == GROUP]
    assert "/usr/bin/id" in pushed["profile"]["items"]["executables"]
    assert pushed["state"]["network"] == "protect"
