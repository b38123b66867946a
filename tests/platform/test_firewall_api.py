"""The firewall's API on a real platform on each store (SQLite, PostgreSQL): an agent's flows
in, rules out, NetworkPolicy."""

from __future__ import annotations

from pathlib import Path

import httpx
import kubernetes_validate
import msgspec
import pytest
import yaml

from stockade.firewall.allowlist import AllowRule
from stockade.firewall.flows import Flow, FlowReport
from stockade.profiles.selectors import PodSelector
from stockade.profiles.wire import LearnedGroup, LearnedReport
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server]
STORE_KINDS = ("sqlite", "postgresql")  # every test runs on each store (conftest.py)
NS = 1_800_000_000_000_000_000


def _flow(port: int, count: int = 1) -> Flow:
    return Flow(src="client-1", dst="web-1", port=port, protocol="tcp", count=count,
                first_ns=NS, last_ns=NS + port)  # fmt: skip


def _report(agent_client: httpx.Client, report: FlowReport) -> httpx.Response:
    return agent_client.post(
        "/api/v1/agent/flows",
        content=msgspec.json.encode(report),
        headers={"Content-Type": "application/json"},
    )


def _announce(agent_client: httpx.Client, group: str, selector: PodSelector) -> None:
    report = LearnedReport(groups=[LearnedGroup(id=group, name=group, first_seen_ns=NS,
                                                selector=selector)])  # fmt: skip
    answer = agent_client.post("/api/v1/agent/profiles", content=msgspec.json.encode(report),
                               headers={"Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 200, answer.text


def test_flows_learn_rules_and_export_network_policies(
    running: PlatformRunner, admin: httpx.Client, tmp_path: Path
) -> None:
    agent = running.enroll(tmp_path, hostname="fw-node", host_id="fw-host")
    learning = FlowReport(flows=[_flow(8080, 3)], learning=["client-1"])
    assert _report(agent.client, learning).json() == {"stored": 1}
    assert _report(agent.client, learning).status_code == 200  # counts add up
    monitored = FlowReport(flows=[_flow(9090)], violations=[True])
    assert _report(agent.client, monitored).status_code == 200
    assert _report(agent.client, FlowReport(flows=[_flow(1)], violations=[])).status_code == 200
    bad = FlowReport(flows=[_flow(1)], violations=[True, False])
    assert _report(agent.client, bad).status_code == 422

    flows = admin.get("/api/v1/flows").json()
    by_port = {f["port"]: f for f in flows["flows"]}
    assert (by_port[8080]["count"], by_port[8080]["allowed"]) == (6, True)
    assert (by_port[9090]["violations"], by_port[9090]["allowed"]) == (1, False)
    assert flows["groups"] == ["client-1", "web-1"]

    rules = admin.get("/api/v1/firewall/rules").json()
    assert [(r["src"], r["dst"], r["port"], r["origin"]) for r in rules] == [
        ("client-1", "web-1", 8080, "learned")
    ]
    agent_rules = msgspec.json.decode(
        agent.client.get("/api/v1/agent/firewall/rules").content, type=list[AllowRule]
    )
    assert [r.id for r in agent_rules] == [rules[0]["id"]]

    exported = admin.get("/api/v1/networkpolicies").text
    assert yaml.safe_load(exported)["items"] == []  # no agent said which pods they are
    assert "# group web-1: no NetworkPolicy, no label selects its pods" in exported
    # Agents report the groups' pods: two web pods of two revisions, one client pod.
    for version in ("v1", "v2"):
        web_pod = PodSelector(labels={"app": "web", "version": version}, namespace="shop")
        _announce(agent.client, "web-1", web_pod)
    _announce(agent.client, "client-1", PodSelector(labels={"stockade.group": "client"}))
    policies = yaml.safe_load(admin.get("/api/v1/networkpolicies").text)["items"]
    for document in policies:
        kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)
    web = next(p for p in policies if p["metadata"]["name"] == "stockade-web-1")
    assert web["spec"]["podSelector"] == {"matchLabels": {"app": "web"}}  # what both carry
    assert web["metadata"]["namespace"] == "shop"
    assert web["spec"]["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {},
                    "podSelector": {"matchLabels": {"stockade.group": "client"}},
                }
            ],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]


def test_rules_crud_and_roles(running: PlatformRunner, admin: httpx.Client) -> None:
    body = {"src": "api-1", "dst": "203.0.113.0/24", "dst_kind": "external", "port": 443}
    created = admin.post("/api/v1/firewall/rules", json=body)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert (rule["origin"], rule["created_by"]) == ("user", "admin")
    assert admin.get(f"/api/v1/firewall/rules/{rule['id']}").json() == rule

    replaced = admin.put(f"/api/v1/firewall/rules/{rule['id']}", json={**body, "port": 8443})
    assert replaced.status_code == 200 and replaced.json()["port"] == 8443
    assert admin.get(f"/api/v1/firewall/rules/{rule['id']}").status_code == 404

    bad = admin.post("/api/v1/firewall/rules", json={**body, "dst": "not-an-address"})
    assert bad.status_code == 422 and "no address or CIDR" in bad.json()["detail"]

    viewer = running.add_user("fw-viewer", "viewer")
    assert viewer.get("/api/v1/firewall/rules").status_code == 200
    assert viewer.post("/api/v1/firewall/rules", json=body).status_code == 403
    assert admin.delete(f"/api/v1/firewall/rules/{replaced.json()['id']}").status_code == 204
    assert admin.delete(f"/api/v1/firewall/rules/{replaced.json()['id']}").status_code == 404
