"""The rules page in a real Chromium: a rule file uploaded, listed with its version and
shown again, a malformed one refused with file:line:column, and a rule switched off."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import logged_in_console, navigate
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server, pytest.mark.browser]
RULE = "Console uploaded rule"
GOOD = f"""- rule: {RULE}
  desc: uploaded from the console
  condition: evt.type = execve and proc.name = console-marker
  output: marker (%proc.cmdline)
  priority: NOTICE
"""
MALFORMED = """- rule: Console broken rule
  desc: a field that does not exist
  condition: evt.type = execve and proc.nope = x
  output: x
  priority: NOTICE
"""


def test_rules_page_uploads_views_refuses_and_switches(
    running: PlatformRunner, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    base = running.platform.console_url
    with logged_in_console(base, running.admin_password) as session:
        page = session.page
        navigate(page, f"{base}/")
        page.click("#nav-rules")
        page.wait_for_url(f"{base}/rules.html")
        expect(page.locator("#nav-rules")).to_have_class("active")

        page.get_by_test_id("file-name").fill("console.yaml")
        page.get_by_test_id("file-content").fill(GOOD)
        page.get_by_test_id("file-save").click()
        expect(page.get_by_test_id("file-result")).to_have_text("Stored console.yaml version 1.")
        row = page.locator('[data-testid=file-row][data-name="console.yaml"]')
        expect(row).to_contain_text("admin")

        page.get_by_test_id("file-name").fill("broken.yaml")
        page.get_by_test_id("file-content").fill(MALFORMED)
        page.get_by_test_id("file-save").click()
        expect(page.get_by_test_id("file-result")).to_contain_text(
            "broken.yaml:1:3: LOAD_ERR_COMPILE_CONDITION"
        )
        expect(page.locator('[data-testid=file-row][data-name="broken.yaml"]')).to_have_count(0)

        row.get_by_test_id("view-file").click()
        expect(page.get_by_test_id("file-content")).to_have_value(GOOD)

        rule = page.locator(f'[data-testid=rule-row][data-name="{RULE}"]')
        expect(rule.get_by_test_id("rule-enabled")).to_have_text("yes")
        rule.get_by_test_id("toggle-rule").click()
        expect(rule.get_by_test_id("rule-enabled")).to_have_text("no")
        page.screenshot(path=str(artifacts_dir / "platform-rules.png"), full_page=True)
    refused = [p for p in session.problems if "status of 422" in p]
    assert len(refused) == 1  # Chromium logs the refused upload; nothing else went wrong
    assert [p for p in session.problems if p not in refused] == []
