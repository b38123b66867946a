"""Custom rules through a real platform on each store (SQLite, PostgreSQL): an analyst
stores, replaces, switches and deletes rule files with versions; a malformed file is refused
with file:line:column and nothing stored; a viewer reads only; every change is audited; an
enrolled agent fetches the bundle and reports what it loaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from typer.testing import CliRunner

from stockade.cli.main import app
from stockade.rules.custom import RuleLoadReport
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server]
STORE_KINDS = ("sqlite", "postgresql")  # every test runs on each store (conftest.py)
RULE = "Custom tool run"
GOOD = f"""- list: custom_tools
  items: [nmap, masscan]
- rule: {RULE}
  desc: a scanning tool ran
  condition: evt.type = execve and proc.name in (custom_tools)
  output: scanner ran (%proc.cmdline)
  priority: WARNING
  tags: [custom]
"""
APPENDED = """- list: custom_tools
  items: [zmap]
  append: true
"""
MALFORMED = """- rule: Broken
  desc: refers to a field no sensor has
  condition: evt.type = execve and proc.nmae = nmap
  output: x
  priority: WARNING
"""


@pytest.fixture(scope="module")
def analyst(running: PlatformRunner) -> Iterator[httpx.Client]:
    """A logged-in analyst."""
    client = running.add_user("rule-analyst", "analyst")
    yield client
    client.close()


@pytest.fixture(scope="module")
def viewer(running: PlatformRunner) -> Iterator[httpx.Client]:
    """A logged-in viewer."""
    client = running.add_user("rule-viewer", "viewer")
    yield client
    client.close()


def test_files_are_versioned_checked_switched_and_audited(
    admin: httpx.Client, analyst: httpx.Client, viewer: httpx.Client
) -> None:
    stored = analyst.put("/api/v1/rules/files/tools.yaml", json={"content": GOOD})
    assert stored.status_code == 200, stored.text
    assert (stored.json()["version"], stored.json()["created_by"]) == (1, "rule-analyst")
    extra = analyst.put("/api/v1/rules/files/tools_more.yaml", json={"content": APPENDED})
    assert extra.status_code == 200, extra.text

    refused = analyst.put("/api/v1/rules/files/broken.yaml", json={"content": MALFORMED})
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("broken.yaml:1:3: LOAD_ERR_COMPILE_CONDITION")
    assert "proc.nmae" in refused.json()["detail"]
    assert analyst.get("/api/v1/rules/files/broken.yaml").status_code == 404

    effective = {r["name"]: r for r in viewer.get("/api/v1/rules").json()["rules"]}
    assert effective[RULE]["source"] == "tools.yaml" and effective[RULE]["enabled"]
    assert any(r["source"] == "default" for r in effective.values())

    assert viewer.put("/api/v1/rules/files/x.yaml", json={"content": GOOD}).status_code == 403
    assert (
        viewer.put("/api/v1/rules/enabled", json={"rule": RULE, "enabled": False}).status_code
        == 403
    )
    assert viewer.delete("/api/v1/rules/files/tools.yaml").status_code == 403

    assert (
        analyst.put("/api/v1/rules/enabled", json={"rule": RULE, "enabled": False}).status_code
        == 204
    )
    after = {r["name"]: r for r in viewer.get("/api/v1/rules").json()["rules"]}
    assert (after[RULE]["enabled"], after[RULE]["switched"]) == (False, False)
    nobody = analyst.put("/api/v1/rules/enabled", json={"rule": "No such rule", "enabled": False})
    assert nobody.status_code == 404

    # tools_more.yaml appends to tools.yaml's list: deleting tools.yaml alone would break it
    assert analyst.delete("/api/v1/rules/files/tools.yaml").status_code == 409
    assert (
        admin.put("/api/v1/rules/files/tools.yaml", json={"content": GOOD + "\n"}).json()["version"]
        == 2
    )
    versions = viewer.get("/api/v1/rules/files/tools.yaml/versions").json()
    assert [(v["version"], v["created_by"]) for v in versions] == [
        (2, "admin"),
        (1, "rule-analyst"),
    ]
    assert (
        viewer.get("/api/v1/rules/files/tools.yaml", params={"version": 1}).json()["content"]
        == GOOD
    )

    audit = admin.get("/api/v1/audit", params={"limit": 200}).json()
    seen = {(e["username"], e["method"], e["path"], e["status"]) for e in audit}
    assert ("rule-analyst", "PUT", "/api/v1/rules/files/tools.yaml", 200) in seen
    assert ("rule-analyst", "PUT", "/api/v1/rules/files/broken.yaml", 422) in seen
    assert ("rule-viewer", "PUT", "/api/v1/rules/files/x.yaml", 403) in seen
    assert ("rule-analyst", "PUT", "/api/v1/rules/enabled", 204) in seen


def test_agent_fetches_the_bundle_and_reports_its_load(
    running: PlatformRunner, analyst: httpx.Client, tmp_path: Path
) -> None:
    agent = running.enroll(tmp_path, hostname="rules-api-node", host_id="rules-api-host")
    analyst.put(
        "/api/v1/rules/files/agent_side.yaml", json={"content": GOOD.replace(RULE, "Agent side")}
    )
    bundle = agent.client.get("/api/v1/agent/rules").json()
    assert "agent_side.yaml" in [f["name"] for f in bundle["files"]]
    again = agent.client.get("/api/v1/agent/rules", params={"revision": bundle["revision"]})
    assert again.json()["unchanged"] and not again.json()["files"]

    report = RuleLoadReport(revision=bundle["revision"], sha256=bundle["sha256"], rules=40)
    sent = agent.client.post("/api/v1/agent/rules", content=msgspec.json.encode(report))
    assert sent.status_code == 200, sent.text
    [shown] = [
        a for a in analyst.get("/api/v1/rules/agents").json() if a["agent_id"] == agent.agent_id
    ]
    assert (shown["revision"], shown["loaded"], shown["rules"]) == (bundle["revision"], True, 40)
    bad = agent.client.post("/api/v1/agent/rules", content=b'{"revision": "x"}')
    assert bad.status_code == 422


def test_cli_uploads_switches_and_lists_through_the_api(
    running: PlatformRunner, analyst: httpx.Client, tmp_path: Path
) -> None:
    token = str(analyst.headers["Authorization"]).removeprefix("Bearer ")
    env = {"STOCKADE_URL": running.platform.console_url, "STOCKADE_TOKEN": token,
           "STOCKADE_CA": str(running.platform.ca_path)}  # fmt: skip
    rule_file = tmp_path / "cli_rules.yaml"
    rule_file.write_text(GOOD.replace(RULE, "From the CLI"))
    cli = CliRunner()
    uploaded = cli.invoke(app, ["rules", "upload", str(rule_file)], env=env)
    assert uploaded.exit_code == 0, uploaded.output
    assert "stored cli_rules.yaml version 1" in uploaded.output
    disabled = cli.invoke(app, ["rules", "disable", "From the CLI"], env=env)
    assert disabled.exit_code == 0, disabled.output
    listed = cli.invoke(app, ["rules", "list"], env=env)
    assert "off  cli_rules.yaml" in listed.output and "From the CLI (switched)" in listed.output
    shown = cli.invoke(app, ["rules", "show", "cli_rules.yaml"], env=env)
    assert shown.output == GOOD.replace(RULE, "From the CLI")

    (tmp_path / "bad.yaml").write_text(MALFORMED)
    refused = cli.invoke(app, ["rules", "upload", str(tmp_path / "bad.yaml")], env=env)
    assert refused.exit_code == 2
    assert "bad.yaml:1:3: LOAD_ERR_COMPILE_CONDITION" in refused.output
    assert "Traceback" not in refused.output
    assert cli.invoke(app, ["rules", "delete", "cli_rules.yaml"], env=env).exit_code == 0
