"""Baseline results reach a real platform: stored per host with history, failing checks
first, a fleet summary, typed in OpenAPI; a report for another host is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import msgspec

from stockade.agent.baseline_checks import BaselineWorker
from stockade.baseline.load import parse_policy
from stockade.baseline.probes import Target
from stockade.model.baseline import BASELINE_PATH, BaselineReport
from tests.support.agent_client import TestAgent
from tests.support.platform_runner import PlatformRunner

POLICY = """
policy: {id: ssh, name: SSH}
checks:
  - id: root-login
    title: root cannot log in
    compliance: {cis: ["5.1.20"], nist_800_53: [AC-6]}
    remediation: Set PermitRootLogin no
    tests: [{file: /etc/ssh/sshd_config, value: '^PermitRootLogin\\s+(\\S+)', equals: "no"}]
  - id: x11
    title: no X11 forwarding
    tests:
      - {file: /etc/ssh/sshd_config, value: '^X11Forwarding\\s+(\\S+)', default: "no", equals: "no"}
  - id: sysctl
    title: not applicable under a root directory
    tests: [{sysctl: net.ipv4.ip_forward, equals: "0"}]
"""


def _post(agent: TestAgent, report: BaselineReport) -> None:
    answer = agent.client.post(BASELINE_PATH, content=msgspec.json.encode(report))
    assert answer.status_code == 200, answer.text


def test_runs_are_stored_with_history_and_failures_first(
    running: PlatformRunner, admin: httpx.Client, tmp_path: Path
) -> None:
    agent = running.enroll(tmp_path / "agent", hostname="baseline-node", host_id="baseline-host")
    root = tmp_path / "root"
    (root / "etc" / "ssh").mkdir(parents=True)
    shutil.copy("/etc/os-release", root / "etc" / "os-release")
    config = root / "etc" / "ssh" / "sshd_config"
    config.write_text("PermitRootLogin no\n")
    policy = parse_policy(POLICY, "ssh.yaml")
    worker = BaselineWorker(
        agent.host_id, lambda r: _post(agent, r), [policy], target=Target(str(root))
    )
    worker.run_once()
    config.write_text("PermitRootLogin yes\n")
    worker.run_once()

    page = admin.get(f"/api/v1/hosts/{agent.host_id}/baseline")
    assert page.status_code == 200, page.text
    body = page.json()
    (current,) = body["policies"]
    assert [c["status"] for c in current["checks"]] == ["fail", "pass", "not_applicable"]
    assert current["checks"][0]["check_id"] == "root-login"
    assert current["checks"][0]["compliance"] == {"cis": ["5.1.20"], "nist_800_53": ["AC-6"]}
    assert (current["score"], body["failed_checks"]) == (50.0, 1)
    assert [run["score"] for run in body["history"]] == [50.0, 100.0]
    hosts = {h["id"]: h for h in admin.get("/api/v1/hosts").json()}
    assert hosts[agent.host_id]["risk"]["failed_checks"] == 1  # the risk summary counts them
    detail = admin.get(f"/api/v1/hosts/{agent.host_id}").json()
    assert detail["risk"]["failed_checks"] == 1

    fleet = admin.get("/api/v1/baseline").json()
    assert {"host_id": agent.host_id, "policy_id": "ssh", "failed": 1}.items() <= next(
        r for r in fleet if r["host_id"] == agent.host_id
    ).items()


def test_a_report_for_another_host_or_with_a_bad_status_is_refused(
    running: PlatformRunner, tmp_path: Path
) -> None:
    agent = running.enroll(tmp_path, hostname="baseline-2", host_id="baseline-host-2")
    other = BaselineReport(host_id="someone-else", ran_at_ns=1, policies=[])
    assert agent.client.post(BASELINE_PATH, content=msgspec.json.encode(other)).status_code == 403
    bad = b'{"host_id": "baseline-host-2", "ran_at_ns": 1, "policies": [{"policy_id": "p",'
    bad += b' "policy_name": "p", "score": 1, "checks": [{"check_id": "c", "title": "t",'
    bad += b' "status": "maybe"}]}]}'
    answer = agent.client.post(BASELINE_PATH, content=bad)
    assert answer.status_code == 422
    assert "'maybe' - at `$.policies[0].checks[0].status`" in answer.text  # off the enum


def test_baseline_routes_are_typed_in_openapi(admin: httpx.Client) -> None:
    spec = admin.get("/openapi.json")
    assert spec.status_code == 200, spec.text
    paths = spec.json()["paths"]
    ok = paths["/api/v1/hosts/{host_id}/baseline"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HostBaseline"
    }
    assert "/api/v1/baseline" in paths
