"""An enrolled agent speaks only for itself and its host: forged batches, heartbeats and
container records of another host are refused over real mTLS; its own still work."""

from __future__ import annotations

import time

import httpx
import pytest

from stockade.model.entities import Container, Host
from stockade.model.wire import SensorStatus
from tests.support.agent_client import TestAgent, make_alert, make_event
from tests.support.platform_runner import PlatformRunner

pytestmark = pytest.mark.server

HOUR_NS = 3600 * 1_000_000_000

STORE_KINDS = ("sqlite", "postgresql")  # every test runs on each store (conftest.py)


def _container(name: str, image: str, digest: str) -> Container:
    return Container(id="f0" * 32, name=name, image=image, image_digest=digest, runtime="podman")


@pytest.fixture(scope="module")
def victim(running: PlatformRunner, tmp_path_factory: pytest.TempPathFactory) -> TestAgent:
    """Agent A on host-a, which reported its container first."""
    agent = running.enroll(tmp_path_factory.mktemp("a"), hostname="node-a", host_id="host-a")
    web = _container("web", "registry.local/web:1", "sha256:" + "a" * 64)
    event = make_event(1, time.time_ns(), container=web, host_id="host-a")
    assert agent.send(agent.batch([event])).status_code == 200
    return agent


@pytest.fixture(scope="module")
def attacker(running: PlatformRunner, tmp_path_factory: pytest.TempPathFactory) -> TestAgent:
    """Agent B on host-b."""
    return running.enroll(tmp_path_factory.mktemp("b"), hostname="node-b", host_id="host-b")


def _alerts(admin: httpx.Client, host: str) -> list[dict[str, object]]:
    r = admin.get("/api/v1/alerts", params={"host": host})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_a_batch_naming_another_host_is_refused_and_stores_nothing(
    victim: TestAgent, attacker: TestAgent, admin: httpx.Client
) -> None:
    backdated = time.time_ns() - 24 * HOUR_NS
    web = _container("web", "registry.local/web:1", "sha256:" + "a" * 64)
    forged = make_event(1, backdated, container=web, host_id=victim.host_id)
    alert = make_alert(2, forged, priority="Critical")
    r = attacker.send(attacker.batch([forged], [alert]))
    assert r.status_code == 403
    assert "host-a" in r.json()["detail"] and "host-b" in r.json()["detail"]
    assert _alerts(admin, "host-a") == []
    assert attacker.client.get("/api/v1/agent/ack").json() == {"acked_seq": 0}
    # the alert alone, with its event on the attacker's host, is refused too
    own = make_event(1, backdated, host_id=attacker.host_id)
    r = attacker.send(attacker.batch([own], [make_alert(2, forged, priority="Critical")]))
    assert r.status_code == 403
    assert _alerts(admin, "host-a") == []
    # the attacker's own records, on its own host, are stored
    r = attacker.send(attacker.batch([own], [make_alert(2, own)]))
    assert r.status_code == 200, r.text
    assert [a["agent_id"] for a in _alerts(admin, "host-b")] == [attacker.agent_id]


def test_a_second_agent_cannot_rewrite_a_container_record(
    victim: TestAgent, attacker: TestAgent, admin: httpx.Client
) -> None:
    evil = _container("innocent", "registry.local/evil:6", "sha256:" + "e" * 64)
    acked = attacker.client.get("/api/v1/agent/ack").json()["acked_seq"]
    event = make_event(acked + 1, time.time_ns(), container=evil, host_id=attacker.host_id)
    assert attacker.send(attacker.batch([event])).status_code == 200
    records = [c for c in admin.get("/api/v1/containers").json() if c["id"] == "f0" * 32]
    by_agent = {c["agent_id"]: c for c in records}
    assert set(by_agent) == {victim.agent_id, attacker.agent_id}
    mine = by_agent[victim.agent_id]
    assert (mine["name"], mine["image"], mine["host_id"]) == (
        "web",
        "registry.local/web:1",
        "host-a",
    )
    assert by_agent[attacker.agent_id]["host_id"] == "host-b"


def _beat(agent: TestAgent, host: Host) -> httpx.Response:
    return agent.heartbeat(SensorStatus(source="x"), host=host)


def test_a_heartbeat_cannot_claim_another_host(
    victim: TestAgent, attacker: TestAgent, admin: httpx.Client
) -> None:
    assert _beat(attacker, victim.host).status_code == 403
    assert _beat(attacker, Host(id=attacker.host_id, hostname="node-a")).status_code == 403
    assert _beat(attacker, attacker.host).status_code == 200
    rows = {a["id"]: a for a in admin.get("/api/v1/agents").json()}
    assert (rows[attacker.agent_id]["hostname"], rows[attacker.agent_id]["host_id"]) == (
        "node-b",
        "host-b",
    )
    assert rows[victim.agent_id]["host_id"] == "host-a"
