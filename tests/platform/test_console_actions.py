"""The response actions page in a real Chromium: order kill_process on a real process through
a real agent order channel, see the result and the audit trail, with no console errors."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.model import Host
from tests.support.browser import logged_in_console, navigate
from tests.support.order_agent import order_agent
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server, pytest.mark.browser]


@pytest.fixture
def agent_id(running: PlatformRunner, tmp_path: Path) -> Iterator[str]:
    """An enrolled agent whose order channel runs (no sensor: orders only)."""
    host = Host(id="ui-actions", hostname="ui-actions-node")
    with order_agent(running, tmp_path / "agent", host) as agent:
        yield agent.agent_id


def test_order_an_action_and_read_the_trail(
    running: PlatformRunner, agent_id: str, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    victim = subprocess.Popen(["sleep", "600"])
    base = running.platform.console_url
    try:
        with logged_in_console(base, running.admin_password, width=1500, height=900) as session:
            page = session.page
            navigate(page, f"{base}/actions.html")
            expect(page.locator(f'#order-agent option[value="{agent_id}"]')).to_have_count(1)
            page.select_option("#order-action", "kill_process")
            expect(page.get_by_test_id("order-needs")).to_have_text("kill_process needs: pid")
            page.select_option("#order-agent", agent_id)
            page.fill("#order-pid", str(victim.pid))
            page.click("#order-submit")
            expect(page.get_by_test_id("order-result")).to_have_text(
                f"kill_process: done — killed process {victim.pid}"
            )
            assert victim.wait(timeout=10) == -9
            row = page.get_by_test_id("action-row").first
            expect(row.get_by_test_id("action-status")).to_have_text("done")
            expect(row.get_by_test_id("action-trigger")).to_have_text("user admin")
            expect(row.get_by_test_id("action-target")).to_have_text(f"pid {victim.pid}")

            page.select_option("#order-action", "kill_container")
            page.fill("#order-container", "ab" * 32)
            page.click("#order-submit")
            expect(page.get_by_test_id("order-result")).to_contain_text(
                "kill_container: failed — no running container"
            )
            page.screenshot(path=str(artifacts_dir / "platform-actions.png"), full_page=True)
    finally:
        victim.kill()
        victim.wait()
    assert session.problems == []
