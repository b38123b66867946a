"""The firewall page in a real Chromium: the flow map drawn as SVG, violations in red."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from stockade.firewall.flows import EXTERNAL, Flow, FlowReport
from tests.support.browser import logged_in_console
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server, pytest.mark.browser]
NS = 1_800_000_000_000_000_000


def _flow(dst: str, port: int, dst_kind: str = "group") -> Flow:
    return Flow(src="shop-client-1a2b3c4d", dst=dst, dst_kind=dst_kind, port=port,
                protocol="tcp", count=4, first_ns=NS, last_ns=NS)  # fmt: skip


def test_flow_map_shows_groups_flows_and_violations(
    running: PlatformRunner, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    agent = running.enroll(tmp_path, hostname="fw-ui-node", host_id="fw-ui-host")
    learned = FlowReport(
        flows=[_flow("shop-web-5e6f7a8b", 8080), _flow("203.0.113.9", 443, EXTERNAL)],
        learning=["shop-client-1a2b3c4d"],
    )
    violation = FlowReport(flows=[_flow("shop-web-5e6f7a8b", 9090)], violations=[True])
    for report in (learned, violation):
        answer = agent.client.post("/api/v1/agent/flows", content=msgspec.json.encode(report))
        assert answer.status_code == 200, answer.text

    base = running.platform.console_url
    with logged_in_console(base, running.admin_password, width=1300, height=1000) as session:
        page = session.page
        page.click("#nav-firewall")
        page.wait_for_url(f"{base}/firewall.html")
        nodes = page.get_by_test_id("flow-node")
        expect(nodes).to_have_count(3)
        edges = page.get_by_test_id("flow-edge")
        expect(edges).to_have_count(3)
        red = page.locator('[data-testid="flow-edge"][data-violation="true"]')
        expect(red).to_have_count(1)
        expect(red).to_have_attribute("data-port", "9090")
        expect(red.locator("path")).to_have_css("stroke", "rgb(198, 40, 40)")
        allowed = page.locator('[data-testid="flow-edge"][data-violation="false"] path')
        expect(allowed.first).to_have_css("stroke", "rgb(74, 111, 165)")
        expect(page.get_by_test_id("rule-row")).to_have_count(2)
        page.screenshot(path=str(artifacts_dir / "platform-firewall.png"), full_page=True)
    assert session.problems == []
