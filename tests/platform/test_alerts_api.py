"""The alerts API on a real platform: cursor pages, sorting, filters, detail, triage, stats.

Alerts are sent by an enrolled test agent over mTLS, as an agent sends them; every answer
comes from the console port over HTTPS with a logged-in user of the role under test.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from stockade.model.alerts import Alert
from stockade.model.entities import Container
from stockade.model.wire import SensorStatus
from stockade.platform.timestamps import format_ns, parse_ns
from tests.support.agent_client import TestAgent, make_alert, make_event
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_value

pytestmark = pytest.mark.server

T0 = 1_750_000_000_000_000_000
S = 1_000_000_000
SHOP = Container(id="c1" * 32, name="shop", image="registry.local/shop:3", runtime="podman")
CART = Container(id="d2" * 32, name="cart", image="registry.local/cart:1", runtime="podman")
RULES = ["Reverse shell", "Write below etc", "Crypto miner"]
PRIORITIES = ["Critical", "Warning", "Notice"]
COUNT = 12


@pytest.fixture(scope="module")
def sent(running: PlatformRunner, tmp_path_factory: pytest.TempPathFactory) -> list[Alert]:
    """COUNT alerts of one agent: rules, priorities, containers and tags in turn."""
    agent = running.enroll(tmp_path_factory.mktemp("agent"), hostname="api-host", host_id="ah")
    events, alerts = [], []
    for i in range(COUNT):
        event = make_event(2 * i + 1, T0 + i * S, container=(SHOP, CART)[i % 2], host_id="ah")
        alert = make_alert(2 * i + 2, event, rule=RULES[i % 3], priority=PRIORITIES[i % 3])
        alert.tags = ["mitre_execution"] if i % 3 == 0 else ["filesystem"]
        alert.count = i + 1
        events.append(event)
        alerts.append(alert)
    assert agent.send(agent.batch(events, alerts)).status_code == 200
    return alerts


def _page(client: httpx.Client, **params: Any) -> dict[str, Any]:
    r = client.get("/api/v1/alerts", params={"host": "api-host", **params})
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


def _every_page(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = _page(client, **params)
    while True:
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        page = _page(client, **params, cursor=page["next_cursor"])


@pytest.mark.parametrize(
    ("sort", "order", "key"),
    [
        ("time", None, lambda a: (-a["event_seq"],)),
        ("time", "asc", lambda a: (a["event_seq"],)),
        ("rule", None, lambda a: (a["rule"], -a["event_seq"])),
        ("priority", None, lambda a: (PRIORITIES.index(a["priority"]), -a["event_seq"])),
        ("container", "desc", lambda a: (a["container"]["name"], -a["event_seq"])),
    ],
    ids=["newest", "oldest", "rule", "priority", "container-desc"],
)
def test_cursor_pages_cover_every_alert_in_order(
    admin: httpx.Client, sent: list[Alert], sort: str, order: str | None, key: Any
) -> None:
    params = {"sort": sort, "limit": 5, **({"order": order} if order else {})}
    items = _every_page(admin, **params)
    assert sorted(a["uuid"] for a in items) == sorted(a.uuid for a in sent)
    reverse = order == "desc" and sort == "container"
    assert items == sorted(items, key=key, reverse=reverse)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "reverse"}, lambda i: i % 3 == 0),
        ({"tag": "mitre_execution"}, lambda i: i % 3 == 0),
        ({"container": "cart"}, lambda i: i % 2 == 1),
        ({"image": "registry.local/shop:3"}, lambda i: i % 2 == 0),
        ({"min_priority": "warning"}, lambda i: i % 3 in (0, 1)),
        ({"since": format_ns(T0 + 10 * S)}, lambda i: i >= 10),
        ({"status": "new"}, lambda i: True),
        ({"q": "miner", "container": "shop"}, lambda i: i % 3 == 2 and i % 2 == 0),
    ],
    ids=["text", "tag", "container", "image", "min-priority", "since", "status", "combined"],
)
def test_filters(
    admin: httpx.Client, sent: list[Alert], params: dict[str, str], expected: Any
) -> None:
    items = _every_page(admin, **params, limit=4)
    assert sorted(a["seq"] for a in items) == [a.seq for i, a in enumerate(sent) if expected(i)]


def test_detail_has_every_field_and_the_raw_json(admin: httpx.Client, sent: list[Alert]) -> None:
    [listed] = _page(admin, q="reverse", limit=1)["items"]
    r = admin.get(f"/api/v1/alerts/{listed['id']}")
    assert r.status_code == 200, r.text
    detail = r.json()
    original = next(a for a in sent if a.uuid == detail["uuid"])
    assert detail["raw"] == msgspec.to_builtins(original)
    assert detail["count"] == original.count > 1
    assert detail["container"]["name"] == ("shop", "cart")[(original.event_seq // 2) % 2]
    assert detail["status"] == "new"
    listed = {k: v for k, v in listed.items() if k != "incident_id"}  # grouping may land later
    incident = poll_value(
        lambda: admin.get(f"/api/v1/alerts/{listed['id']}").json()["incident_id"],
        lambda found: found is not None,
        10,
        "the alert grouped into an incident",
    )
    assert admin.get(f"/api/v1/incidents/{incident}").status_code == 200
    assert {k: v for k, v in detail.items() if k not in ("raw", "incident_id")} == listed
    missing = admin.get("/api/v1/alerts/999999")
    assert missing.status_code == 404 and missing.json() == {"detail": "no alert 999999"}


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("acknowledge", "acknowledged"),
        ("resolve", "resolved"),
        ("false-positive", "false_positive"),
    ],
)
def test_triage_is_stored_with_who_and_when_and_audited(
    running: PlatformRunner, admin: httpx.Client, sent: list[Alert], action: str, status: str
) -> None:
    del sent
    analyst = running.login(f"analyst-{action}", _analyst(running, f"analyst-{action}"))
    viewer = running.add_user(f"viewer-{action}", "viewer")
    alert_id = _page(admin, status="new", limit=1)["items"][0]["id"]
    refused = viewer.post(f"/api/v1/alerts/{alert_id}/{action}")
    assert refused.status_code == 403
    before = time.time_ns()
    r = analyst.post(f"/api/v1/alerts/{alert_id}/{action}")
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["status"], changed["status_by"]) == (status, f"analyst-{action}")
    assert before - S <= parse_ns(changed["status_at"]) <= time.time_ns()
    assert admin.get(f"/api/v1/alerts/{alert_id}").json()["status"] == status
    assert alert_id in [a["id"] for a in _every_page(admin, status=status)]
    audit = admin.get("/api/v1/audit", params={"limit": 50}).json()
    path = f"/api/v1/alerts/{alert_id}/{action}"
    assert {(e["username"], e["status"]) for e in audit if e["path"] == path} == {
        (f"analyst-{action}", 200),
        (f"viewer-{action}", 403),
    }
    assert analyst.post("/api/v1/alerts/999999/resolve").status_code == 404
    reopened = analyst.post(f"/api/v1/alerts/{alert_id}/reopen").json()
    assert reopened["status"] == "new"


def _analyst(running: PlatformRunner, name: str) -> str:
    password = "analyst-password-1"
    running.add_user(name, "analyst", password).close()
    return password


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"cursor": "not-a-cursor"}, "cursor: not a cursor this listing handed out"),
        ({"cursor": "W10"}, "cursor: not a cursor this listing handed out"),
        ({"sort": "sideways"}, "query.sort:"),
        ({"status": "maybe"}, "query.status:"),
    ],
)
def test_bad_parameters_are_one_line_422(
    admin: httpx.Client, params: dict[str, str], detail: str
) -> None:
    r = admin.get("/api/v1/alerts", params=params)
    assert r.status_code == 422
    assert r.json()["detail"].startswith(detail)


def test_a_cursor_belongs_to_its_order(admin: httpx.Client, sent: list[Alert]) -> None:
    del sent
    cursor = _page(admin, sort="rule", limit=2)["next_cursor"]
    r = admin.get("/api/v1/alerts", params={"sort": "time", "cursor": cursor})
    assert r.status_code == 422
    assert "made for sort=rule order=asc" in r.json()["detail"]


def test_stats_count_over_time_and_groups(admin: httpx.Client, sent: list[Alert]) -> None:
    r = admin.get(
        "/api/v1/alerts/stats",
        params={"since": format_ns(T0), "until": format_ns(T0 + COUNT * S), "buckets": 4},
    )
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["bucket_seconds"] == 3
    assert sum(p["alerts"] for p in stats["series"]) == COUNT
    assert {p["priority"] for p in stats["series"]} == set(PRIORITIES)
    rules = {t["key"]: (t["alerts"], t["occurrences"]) for t in stats["top_rules"]}
    for rule in RULES:
        mine = [a for a in sent if a.rule == rule]
        assert rules[rule] == (len(mine), sum(a.count for a in mine))
    assert {t["label"] for t in stats["top_containers"]} == {"shop", "cart"}
    for params in (
        {"until": "0"},
        {"since": "-9223372036854775808", "until": "9999999999999999999"},
    ):
        assert admin.get("/api/v1/alerts/stats", params=params).status_code in (200, 422)


def test_agents_report_their_health(
    running: PlatformRunner, admin: httpx.Client, tmp_path: Path
) -> None:
    agent: TestAgent = running.enroll(tmp_path, hostname="busy-host", host_id="bh")
    for total in (1_000, 5_000):
        sensor = SensorStatus(
            source="proc_connector",
            degraded="no eBPF: BTF missing",
            events_by_type={"execve": total},
            dropped=12,
            decode_errors=3,
        )
        r = agent.heartbeat(sensor)
        assert r.status_code == 200, r.text
    [me] = [a for a in admin.get("/api/v1/agents").json() if a["id"] == agent.agent_id]
    assert me["events_per_s"] > 0
    assert (me["sensor_dropped"], me["decode_errors"]) == (12, 3)
    assert (me["status"], me["degraded"]) == ("degraded", "no eBPF: BTF missing")


def test_openapi_types_the_alert_operations(admin: httpx.Client) -> None:
    spec = admin.get("/openapi.json").json()
    listing = spec["paths"]["/api/v1/alerts"]["get"]
    assert listing["tags"] == ["alerts"]
    schema = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/AlertPage"}
    page = spec["components"]["schemas"]["AlertPage"]["properties"]
    assert {"items", "next_cursor"} <= set(page)
    names = {p["name"] for p in listing["parameters"]}
    assert {"cursor", "sort", "order", "q", "tag", "status", "image", "since", "until"} <= names
    for action in ("acknowledge", "resolve", "false-positive", "reopen"):
        assert "post" in spec["paths"][f"/api/v1/alerts/{{alert_id}}/{action}"]
    assert "raw" in spec["components"]["schemas"]["AlertDetail"]["properties"]
