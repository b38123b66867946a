"""The hosts pages in a real Chromium: the risk summary first, then the inventory tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.agent.inventory import InventoryCollector
from stockade.agent.inventory_outbox import encode_diff
from stockade.model.host_inventory import INVENTORY_PATH
from tests.support.browser import logged_in_console
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server, pytest.mark.browser]
TABLES = ("listening_ports", "suid_bin", "os_version", "users", "deb_packages")


def test_host_page_shows_risk_summary_and_tables(
    running: PlatformRunner, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    agent = running.enroll(tmp_path, hostname="inventory-ui-node", host_id="inventory-ui-host")
    diff, snapshot = InventoryCollector(agent.host_id, containers=False).changes(
        full=True, names=TABLES
    )
    answer = agent.client.post(
        INVENTORY_PATH,
        content=encode_diff(diff),
        headers={"content-type": "application/json", "content-encoding": "zstd"},
    )
    assert answer.status_code == 200, answer.text
    suid = len(snapshot["suid_bin"])
    base = running.platform.console_url
    with logged_in_console(base, running.admin_password) as session:
        page = session.page
        page.click("#nav-hosts")
        page.wait_for_url(f"{base}/hosts.html")
        row = page.locator(f'[data-testid=host-row][data-host-id="{agent.host_id}"]')
        expect(row.get_by_test_id("host-suid")).to_have_text(str(suid))
        page.screenshot(path=str(artifacts_dir / "platform-hosts.png"), full_page=True)
        row.get_by_role("link").click()
        page.wait_for_url(f"{base}/host.html?id={agent.host_id}")
        expect(page.get_by_test_id("host-name")).to_have_text("inventory-ui-node")
        expect(page.get_by_test_id("risk-suid")).to_have_text(str(suid))
        expect(page.get_by_test_id("risk-checks")).to_have_text("n/a")
        page.get_by_test_id("table-select").select_option("os_version")
        expect(page.get_by_test_id("inventory-row")).to_have_count(1)
        expect(page.get_by_test_id("inventory-table")).to_contain_text("Debian")
        page.get_by_test_id("table-select").select_option("deb_packages")
        expect(page.get_by_test_id("inventory-row")).to_have_count(50)
        expect(page.get_by_test_id("page-info")).to_contain_text(
            f"of {len(snapshot['deb_packages'])}"
        )
        page.click("#page-next")
        expect(page.get_by_test_id("page-info")).to_contain_text("51–100")
        page.screenshot(path=str(artifacts_dir / "platform-host.png"), full_page=True)
    assert session.problems == []
