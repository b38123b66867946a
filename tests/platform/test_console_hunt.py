"""The hunt page in a real Chromium: a query over stored alerts shows its rows, a wrong one
its one-line reason, and a hunt saved from the page runs on its schedule and raises an alert."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.agent_client import make_alert, make_event
from tests.support.browser import logged_in_console, navigate
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server, pytest.mark.browser]


def test_hunt_page_runs_a_query_and_saves_a_hunt(
    running: PlatformRunner, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    agent = running.enroll(tmp_path / "agent", hostname="hunt-ui", host_id="hunt-ui-host")
    at = time.time_ns() - 60 * 10**9  # a minute ago: inside the page's default window
    events = [make_event(n, at + n, host_id=agent.host_id) for n in range(1, 4)]
    alerts = [make_alert(n + 3, e) for n, e in zip(range(1, 4), events, strict=True)]
    assert agent.send(agent.batch(events, alerts)).status_code == 200
    base = running.platform.console_url
    with logged_in_console(base, running.admin_password) as session:
        page = session.page
        navigate(page, f"{base}/")
        page.click("#nav-hunt")
        page.wait_for_url(f"{base}/hunt.html")
        expect(page.locator("#nav-hunt")).to_have_class("active")
        page.get_by_test_id("hunt-sql").fill(
            f"SELECT host_id, count(*) AS n FROM alerts WHERE host_id = '{agent.host_id}'"
            " GROUP BY host_id"
        )
        page.get_by_test_id("hunt-run").click()
        row = page.get_by_test_id("hunt-row")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("3")
        expect(page.locator("#hunt-results thead")).to_contain_text("host_id")

        page.get_by_test_id("hunt-sql").fill("DELETE FROM alerts")
        page.get_by_test_id("hunt-run").click()
        expect(page.get_by_test_id("hunt-error")).to_contain_text("hunt: cannot modify alerts")

        page.get_by_test_id("hunt-sql").fill(
            f"SELECT hostname FROM hosts WHERE host_id = '{agent.host_id}'"
        )
        page.get_by_test_id("save-name").fill("hunt-ui host enrolled")
        page.get_by_test_id("save-hunt").click()
        saved = page.locator('[data-testid=saved-row][data-name="hunt-ui host enrolled"]')
        expect(saved).to_have_count(1)
        expect(saved.get_by_test_id("saved-alerts")).to_have_text("1", timeout=30_000)
        page.screenshot(path=str(artifacts_dir / "platform-hunt.png"), full_page=True)
    refused = [p for p in session.problems if "status of 400" in p and p.endswith("/api/v1/hunt")]
    assert len(refused) == 1  # Chromium logs the refused DELETE; nothing else went wrong
    assert [p for p in session.problems if p not in refused] == []
