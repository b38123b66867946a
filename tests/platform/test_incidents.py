"""Incidents on a real platform: alerts sent by an enrolled agent are grouped as they are
stored (and those stored without grouping, by the platform's backfill); the API lists them
by page, shows one with its timeline and storyline, and lets an analyst change it
(audited), while a viewer may only read."""

from __future__ import annotations

import time
from typing import Any

import httpx
import msgspec
import pytest

from stockade.model.entities import Container
from stockade.model.events import Ancestor, Event, FdInfo
from stockade.platform.api.incident_views import IncidentDetailView
from stockade.platform.messages import IngestBatch
from tests.support.agent_client import TestAgent, make_alert, make_event
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_until

pytestmark = pytest.mark.server
MIN = 60 * 1_000_000_000
SHELL = "Reverse shell"
SHOP = Container(id="5a" * 32, name="shop", image="localhost/shop:1", runtime="podman")
CART = Container(id="6b" * 32, name="cart", image="localhost/cart:1", runtime="podman")
CONMON = Ancestor(pid=4000, vpid=4000, start_ns=10, name="conmon", argv=("conmon",))
BASH = Ancestor(pid=4001, vpid=3, start_ns=11, name="bash", argv=("bash", "-i"))

STORE_KINDS = ("sqlite", "postgresql")  # every test runs on each store (conftest.py)
PLATFORM_CONFIG = {"incident_backfill_s": 0.5}  # a left-out alert is sought soon


def shell_event(seq: int, ts: int, container: Container, name: str, pid: int) -> Event:
    event = make_event(seq, ts, container=container, proc_name=name, pid=pid, host_id="inc-host")
    event.proc.start_ns, event.proc.vpid = pid * 10, pid - 3990
    event.ancestors = (BASH, CONMON)
    return event


def incidents(client: httpx.Client, **params: Any) -> dict[str, Any]:
    r = client.get("/api/v1/incidents", params=params)
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


@pytest.fixture(scope="module")
def agent(running: PlatformRunner, tmp_path_factory: pytest.TempPathFactory) -> TestAgent:
    """An agent on host inc-host that sent two containers' attacks and a host alert."""
    agent = running.enroll(
        tmp_path_factory.mktemp("agent"), hostname="inc-node", host_id="inc-host"
    )
    t0 = time.time_ns() - 60 * MIN
    nc = shell_event(1, t0, SHOP, "nc", 4010)
    connect = shell_event(2, t0 + 1, SHOP, "nc", 4010)
    connect.type, connect.fd = "connect", FdInfo(name="10.88.0.5:40000->10.88.0.9:4444")
    cat = shell_event(3, t0 + 2 * MIN, SHOP, "cat", 4011)
    other = shell_event(5, t0 + 3 * MIN, CART, "sh", 5000)
    late = shell_event(6, t0 + 50 * MIN, SHOP, "id", 4012)  # past the 30 min window
    host = make_event(7, t0, proc_name="insmod", pid=7000, host_id="inc-host")
    first = [make_alert(4, nc, rule="Reverse shell", priority="Critical")]
    assert agent.send(agent.batch([nc, connect, cat], first)).status_code == 200
    second = [  # cat's alert comes a batch after its event
        make_alert(8, cat, rule="Read shadow", priority="Warning"),
        make_alert(9, other, rule="Terminal shell in container", priority="Notice"),
        make_alert(10, late, rule="Terminal shell in container", priority="Notice"),
        make_alert(11, host, rule="Kernel module", priority="Error"),
    ]
    assert agent.send(agent.batch([other, late, host], second)).status_code == 200
    return agent


def test_alerts_are_grouped_by_container_and_window(agent: TestAgent, admin: httpx.Client) -> None:
    page = incidents(admin, host="inc-node")
    by_title = {i["title"]: i for i in page["items"]}
    assert sorted((i["title"], i["alert_count"]) for i in page["items"]) == [
        ("Kernel module", 1),
        ("Reverse shell", 2),  # nc and cat in shop, across two batches
        ("Terminal shell in container", 1),
        ("Terminal shell in container", 1),
    ]
    shop = by_title["Reverse shell"]
    assert shop["severity"] == "Critical"
    assert shop["status"] == "new"
    assert shop["origin"]["container_name"] == "shop"
    assert shop["origin"]["hostname"] == "inc-node"
    assert by_title["Kernel module"]["origin"]["container_id"] == "host"
    alerts = admin.get("/api/v1/alerts", params={"container": SHOP.id}).json()["items"]
    ids = sorted(a["incident_id"] for a in alerts if a["agent_id"] == agent.agent_id)
    late = next(i["id"] for i in page["items"] if i["last_seen"] > shop["last_seen"])
    assert ids == sorted([shop["id"], shop["id"], late])  # each alert names its incident


def test_pages_follow_the_cursor_and_filters_apply(agent: TestAgent, admin: httpx.Client) -> None:
    del agent
    first = incidents(admin, host="inc-host", limit=3)
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = incidents(admin, host="inc-host", limit=3, cursor=first["next_cursor"])
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert len(set(ids)) == 4
    severe = incidents(admin, host="inc-host", min_severity="error")["items"]
    assert sorted(i["severity"] for i in severe) == ["Critical", "Error"]
    assert incidents(admin, host="no-such-host")["items"] == []
    r = admin.get("/api/v1/incidents", params={"cursor": "nonsense"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("query.cursor:")


def test_detail_has_timeline_and_storyline(agent: TestAgent, admin: httpx.Client) -> None:
    del agent
    [shop] = [
        i for i in incidents(admin, host="inc-host")["items"] if i["title"] == "Reverse shell"
    ]
    r = admin.get(f"/api/v1/incidents/{shop['id']}")
    assert r.status_code == 200, r.text
    detail = r.json()
    IncidentDetailView.model_validate(detail)  # the documented shape, field by field
    assert [a["rule"] for a in detail["alerts"]] == ["Reverse shell", "Read shadow"]
    assert [e["kind"] for e in detail["timeline"]] == ["alert", "alert"]
    story = detail["storyline"]
    by_id = {p["id"]: p for p in story["processes"]}
    assert [by_id[r]["name"] for r in story["roots"]] == ["bash"]
    assert sorted(p["name"] for p in story["processes"]) == ["bash", "cat", "nc"]
    nc = next(p for p in story["processes"] if p["name"] == "nc")
    assert nc["offending"] and nc["rules"] == ["Reverse shell"]
    assert by_id[nc["parent"]]["name"] == "bash"
    assert [s["kind"] for s in nc["steps"]] == ["exec", "alert", "connect"]  # alerted at exec
    assert nc["steps"][0]["event"]["proc"]["pid"] == 4010
    assert admin.get("/api/v1/incidents/999999").status_code == 404


def test_a_host_incident_tells_the_story_of_its_process(
    agent: TestAgent, admin: httpx.Client
) -> None:
    del agent
    [host] = [
        i for i in incidents(admin, host="inc-host")["items"] if i["title"] == "Kernel module"
    ]
    story = admin.get(f"/api/v1/incidents/{host['id']}").json()["storyline"]
    assert [(p["name"], p["offending"]) for p in story["processes"]] == [("insmod", True)]
    assert story["roots"] == [story["processes"][0]["id"]]


def test_analyst_changes_are_on_the_timeline_and_audited(
    agent: TestAgent, running: PlatformRunner, admin: httpx.Client
) -> None:
    del agent
    [shop] = [
        i for i in incidents(admin, host="inc-host")["items"] if i["title"] == "Reverse shell"
    ]
    path = f"/api/v1/incidents/{shop['id']}"
    analyst = running.add_user("inc-analyst", "analyst")
    viewer = running.add_user("inc-viewer", "viewer")
    assert viewer.get(path).status_code == 200
    assert viewer.patch(path, json={"status": "resolved"}).status_code == 403
    r = analyst.patch(path, json={"assignee": "nobody-here"})
    assert r.status_code == 422
    assert r.json() == {"detail": "assignee: no user named 'nobody-here'"}
    r = analyst.patch(path, json={"status": "investigating", "assignee": "inc-analyst"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["assignee"]) == ("investigating", "inc-analyst")
    note = "nc to 10.88.0.9: the cart's address"
    r = analyst.patch(path, json={"note": note, "status": "resolved"})
    assert r.status_code == 200
    timeline = analyst.get(path).json()["timeline"]
    assert [(e["kind"], e["text"], e["username"]) for e in timeline[2:]] == [
        ("status", "new -> investigating", "inc-analyst"),
        ("assignee", "inc-analyst", "inc-analyst"),
        ("status", "investigating -> resolved", "inc-analyst"),
        ("note", note, "inc-analyst"),
    ]
    assert [i["id"] for i in incidents(admin, status="resolved")["items"]] == [shop["id"]]
    audit = admin.get("/api/v1/audit", params={"limit": 20}).json()
    patches = [(a["username"], a["status"]) for a in audit if a["path"] == path]
    assert patches == [("inc-analyst", 200), ("inc-analyst", 200), ("inc-analyst", 422),
                       ("inc-viewer", 403)]  # fmt: skip
    for client in (analyst, viewer):
        client.close()


def test_incidents_are_typed_in_the_openapi_document(admin: httpx.Client) -> None:
    spec = admin.get("/openapi.json").json()
    listed = spec["paths"]["/api/v1/incidents"]["get"]
    assert listed["tags"] == ["incidents"]
    ok = listed["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/IncidentPage"}
    one = spec["paths"]["/api/v1/incidents/{incident_id}"]
    assert set(one) == {"get", "patch"}
    assert "storyline" in spec["components"]["schemas"]["IncidentDetailView"]["properties"]


def test_the_platform_groups_alerts_stored_without_grouping(
    running: PlatformRunner, admin: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> None:
    old = running.enroll(tmp_path_factory.mktemp("old"), hostname="old-node", host_id="old-host")
    event = make_event(1, time.time_ns() - 90 * MIN, container=CART, host_id="old-host")
    alert = make_alert(2, event, rule="Write below etc")
    batch = old.batch([event], [alert])
    with running.beside() as store:  # as a platform from before incidents stored it
        store.store_batch(IngestBatch(batch=batch, event_blobs=[msgspec.msgpack.encode(event)]), 0)
    stored = admin.get("/api/v1/alerts", params={"host": "old-host"}).json()["items"]
    assert [a["uuid"] for a in stored] == [alert.uuid]

    def grouped() -> int | None:
        items = admin.get("/api/v1/alerts", params={"host": "old-host"}).json()["items"]
        return int(items[0]["incident_id"]) if items[0]["incident_id"] else None

    incident = poll_until(grouped, 30, "the backfill to group the old alert")
    r = admin.get(f"/api/v1/incidents/{incident}")
    assert (r.json()["title"], r.json()["alert_count"]) == ("Write below etc", 1)


def test_an_alert_tying_two_host_incidents_merges_them(
    running: PlatformRunner, admin: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tied = running.enroll(tmp_path_factory.mktemp("tie"), hostname="tie-node", host_id="tie-host")
    t0 = time.time_ns() - 5 * MIN
    shell = make_event(1, t0, proc_name="sh", pid=8100, host_id="tie-host")
    miner = make_event(2, t0 + 1, proc_name="xmrig", pid=8200, host_id="tie-host")
    shell.proc.start_ns, miner.proc.start_ns = 81, 82
    first = [make_alert(3, shell, rule="Shell"), make_alert(4, miner, rule="Miner")]
    assert tied.send(tied.batch([shell, miner], first)).status_code == 200
    older, newer = sorted(i["id"] for i in incidents(admin, host="tie-host")["items"])
    # the miner's next event shows its parent: the shell of the other incident
    again = make_event(5, t0 + 2, proc_name="xmrig", pid=8200, host_id="tie-host")
    again.proc.start_ns = 82
    again.ancestors = (Ancestor(pid=8100, vpid=8100, start_ns=81, name="sh"),)
    tie = [make_alert(6, again, rule="Miner", priority="Critical")]
    assert tied.send(tied.batch([again], tie)).status_code == 200
    [merged] = incidents(admin, host="tie-host")["items"]
    assert (merged["id"], merged["alert_count"], merged["severity"]) == (older, 3, "Critical")
    timeline = admin.get(f"/api/v1/incidents/{older}").json()["timeline"]
    assert [e["kind"] for e in timeline] == ["alert", "alert", "alert", "merge"]
    assert timeline[-1]["text"].startswith(f"incident {newer} (Miner, 1 alerts) merged in")
    assert admin.get(f"/api/v1/incidents/{newer}").status_code == 404
