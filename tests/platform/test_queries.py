"""Stored events, alerts and containers come back through the user API with each filter."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from stockade.model.entities import Container
from stockade.platform.timestamps import format_ns
from tests.support.agent_client import TestAgent, make_alert, make_event
from tests.support.platform_runner import PlatformRunner

pytestmark = pytest.mark.server

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
WEB = Container(
    id="a1" * 32,
    name="q-web",
    image="registry.local/web:1.0",
    image_digest="sha256:" + "d" * 64,
    runtime="podman",
)
DB = Container(id="b2" * 32, name="q-db", image="registry.local/db:2", runtime="podman")

STORE_KINDS = ("sqlite", "postgresql")  # every test runs on each store (conftest.py)


@pytest.fixture(scope="module")
def agent(running: PlatformRunner, tmp_path_factory: pytest.TempPathFactory) -> TestAgent:
    """An agent that stored 6 events and 3 alerts with known fields."""
    agent = running.enroll(tmp_path_factory.mktemp("agent"), hostname="query-host", host_id="qh")
    s = 1e9
    events = [
        make_event(1, T0, container=WEB, proc_name="nginx", host_id="qh"),
        make_event(
            2, T0 + int(1 * s), container=WEB, type="openat", proc_name="nginx", host_id="qh"
        ),
        make_event(3, T0 + int(2 * s), container=DB, proc_name="postgres", host_id="qh"),
        make_event(
            4, T0 + int(3 * s), container=DB, type="connect", proc_name="psql", host_id="qh"
        ),
        make_event(5, T0 + int(4 * s), proc_name="sshd", host_id="qh"),
        make_event(6, T0 + int(5 * s), container=WEB, proc_name="sh", pid=4242, host_id="qh"),
    ]
    alerts = [
        make_alert(7, events[5], rule="Terminal shell in container", priority="Warning"),
        make_alert(8, events[3], rule="Unexpected connection", priority="Notice"),
        make_alert(9, events[4], rule="Sshd on host", priority="Critical"),
    ]
    r = agent.send(agent.batch(events, alerts))
    assert r.status_code == 200, r.text
    return agent


def _events(admin: httpx.Client, **params: str | int) -> list[int]:
    r = admin.get("/api/v1/events", params={"host": "query-host", **params})
    assert r.status_code == 200, r.text
    return [e["seq"] for e in r.json()]


def _alerts(admin: httpx.Client, **params: str | int) -> list[int]:
    r = admin.get("/api/v1/alerts", params={"host": "query-host", **params})
    assert r.status_code == 200, r.text
    return [a["seq"] for a in r.json()["items"]]


@pytest.mark.parametrize(
    ("params", "seqs"),
    [
        ({}, [6, 5, 4, 3, 2, 1]),
        ({"since": T0 + 3_000_000_000}, [6, 5, 4]),
        ({"until": format_ns(T0 + 1_000_000_000)}, [2, 1]),
        ({"since": "2023-11-14T22:13:21Z", "until": "2023-11-14T22:13:22.5+00:00"}, [3, 2]),
        ({"container": WEB.id}, [6, 2, 1]),
        ({"container": WEB.id[:12]}, [6, 2, 1]),
        ({"container": "q-db"}, [4, 3]),
        ({"container": "host"}, [5]),
        ({"type": "openat"}, [2]),
        ({"proc_name": "psql"}, [4]),
        ({"limit": 2}, [6, 5]),
        ({"host": "qh", "type": "connect"}, [4]),
    ],
    ids=[
        "all",
        "since-ns",
        "until-rfc3339",
        "window",
        "container-full-id",
        "container-short-id",
        "container-name",
        "host-container",
        "type",
        "proc-name",
        "limit",
        "host-id",
    ],
)
def test_event_filters(
    agent: TestAgent, admin: httpx.Client, params: dict[str, str | int], seqs: list[int]
) -> None:
    assert _events(admin, **params) == seqs


def test_event_json_carries_origin(agent: TestAgent, admin: httpx.Client) -> None:
    [event] = admin.get("/api/v1/events", params={"proc_name": "sh", "host": "qh"}).json()
    assert event["agent_id"] == agent.agent_id
    assert event["container"]["name"] == "q-web"
    assert event["proc"]["pid"] == 4242
    assert event["host_id"] == "qh"


@pytest.mark.parametrize(
    ("params", "status"),
    [({"since": "yesterday"}, 422), ({"limit": 10001}, 422), ({"limit": 0}, 422)],
    ids=["bad-time", "limit-too-big", "limit-zero"],
)
def test_bad_query_is_422(admin: httpx.Client, params: dict[str, str | int], status: int) -> None:
    assert admin.get("/api/v1/events", params=params).status_code == status


@pytest.mark.parametrize(
    ("params", "seqs"),
    [
        ({}, [7, 9, 8]),
        ({"since": T0 + 4_000_000_000}, [7, 9]),
        ({"until": T0 + 3_500_000_000}, [8]),
        ({"container": "q-web"}, [7]),
        ({"container": DB.id[:12]}, [8]),
        ({"rule": "Sshd on host"}, [9]),
        ({"priority": "warning"}, [7]),
        ({"min_priority": "Warning"}, [7, 9]),
        ({"limit": 1}, [7]),
    ],
    ids=[
        "all",
        "since",
        "until",
        "container-name",
        "container-short-id",
        "rule",
        "priority",
        "min-priority",
        "limit",
    ],
)
def test_alert_filters(
    agent: TestAgent, admin: httpx.Client, params: dict[str, str | int], seqs: list[int]
) -> None:
    assert _alerts(admin, **params) == seqs


def test_alert_json_is_falco_shaped_with_origin(agent: TestAgent, admin: httpx.Client) -> None:
    [alert] = admin.get("/api/v1/alerts", params={"rule": "Terminal shell in container"}).json()[
        "items"
    ]
    for field in ("uuid", "output", "priority", "rule", "time", "output_fields", "source", "tags"):
        assert field in alert
    assert alert["priority"] == "Warning"
    assert alert["host_id"] == "qh"
    assert alert["container_id"] == WEB.id
    assert alert["container"] == {
        "id": WEB.id,
        "short_id": WEB.id[:12],
        "name": "q-web",
        "image": "registry.local/web:1.0",
        "image_digest": WEB.image_digest,
    }
    assert alert["process"] == {"name": "sh", "pid": 4242, "cmdline": "sh -c id"}
    assert alert["agent_id"] == agent.agent_id


def test_containers_are_listed_from_events(agent: TestAgent, admin: httpx.Client) -> None:
    containers = {c["id"]: c for c in admin.get("/api/v1/containers").json()}
    assert "host" not in containers
    web = containers[WEB.id]
    assert (web["name"], web["image"], web["image_digest"]) == (
        "q-web",
        WEB.image,
        WEB.image_digest,
    )
    assert web["short_id"] == WEB.id[:12]
    assert web["first_seen"] == format_ns(T0)
    assert web["last_seen"] == format_ns(T0 + 5_000_000_000)
    assert containers[DB.id]["name"] == "q-db"
    assert containers[DB.id]["agent_id"] == agent.agent_id


def test_agents_lists_the_agent(agent: TestAgent, admin: httpx.Client, tmp_path: Path) -> None:
    [row] = [a for a in admin.get("/api/v1/agents").json() if a["id"] == agent.agent_id]
    assert row["hostname"] == "query-host"
    assert row["acked_seq"] == 9
