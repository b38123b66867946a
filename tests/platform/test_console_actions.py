"""The response actions page in a real Chromium: order kill_process on a real process through
a real agent order channel, see the result and the audit trail, page through the trail by
cursor, with no console errors."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.model import Host
from stockade.model.actions import ActionRecord, ActionResult, ActionStatus, ActionTarget, Trigger
from tests.support.browser import logged_in_console, navigate
from tests.support.order_agent import order_agent
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server, pytest.mark.browser]
PAGE = 100  # rows per page of the console's trail (actions.js PAGE_SIZE)
T_OLD = 1_680_000_000_000_000_000  # 2023: older than any order the tests give
OLD_PREFIX = "00000000-0000-4000-9000-"


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


def test_the_trail_pages_by_cursor(running: PlatformRunner, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    older = [_old_record(i) for i in range(PAGE + 5)]  # before any order of the other test
    with running.beside() as store:
        for record in older:
            store.save_action(record)
    base = running.platform.console_url
    with logged_in_console(base, running.admin_password, width=1500, height=900) as session:
        page = session.page
        navigate(page, f"{base}/actions.html")
        expect(page.get_by_test_id("action-row")).to_have_count(PAGE)
        expect(page.get_by_test_id("actions-page")).to_have_text("page 1")
        expect(page.get_by_test_id("actions-prev")).to_be_disabled()
        shown_first = page.get_by_test_id("action-row").evaluate_all(
            "rows => rows.map(r => r.dataset.actionId)"
        )
        page.get_by_test_id("actions-next").click()
        expect(page.get_by_test_id("actions-page")).to_have_text("page 2")
        expect(page.get_by_test_id("actions-next")).to_be_disabled()
        shown_second = page.get_by_test_id("action-row").evaluate_all(
            "rows => rows.map(r => r.dataset.actionId)"
        )
        shown = shown_first + shown_second
        assert len(set(shown)) == len(shown)  # no action on two pages
        newest_first = sorted(older, key=lambda r: r.requested_at, reverse=True)
        assert [i for i in shown if i.startswith(OLD_PREFIX)] == [r.id for r in newest_first]
        page.get_by_test_id("actions-prev").click()
        expect(page.get_by_test_id("actions-page")).to_have_text("page 1")
        page.screenshot(path=str(artifacts_dir / "platform-actions-pages.png"), full_page=True)
    assert session.problems == []


def _old_record(i: int) -> ActionRecord:
    """A done policy action from 2023, for another agent (pages of the trail to read)."""
    record = ActionRecord(
        id=f"{OLD_PREFIX}{i:012d}",
        action="kill_process",
        target=ActionTarget(pid=2000 + i),
        trigger=Trigger(kind="policy", policy="paged", alert_id=f"old-{i}", rule="r"),
        agent_id="agent-old",
        host_id="host-old",
        requested_at=T_OLD + i * 1_000_000_000,
    )
    return record.ended(ActionResult(status=ActionStatus.DONE, detail="ok"), record.requested_at)
