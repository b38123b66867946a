"""The baseline page in a real Chromium: the fleet summary, then one host's checks with
the failing ones first."""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
import pytest

from stockade.agent.baseline_checks import BaselineWorker
from stockade.baseline.load import BUILTIN_DIR, load_policy
from stockade.baseline.probes import Target
from stockade.model.baseline import BASELINE_PATH, BaselineReport
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server, pytest.mark.browser]


def test_baseline_page_shows_failing_checks_first(
    running: PlatformRunner, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import ConsoleMessage, Error, expect, sync_playwright

    agent = running.enroll(tmp_path / "agent", hostname="baseline-ui", host_id="baseline-ui-host")
    root = tmp_path / "root"
    (root / "etc" / "ssh").mkdir(parents=True)
    shutil.copy("/etc/os-release", root / "etc" / "os-release")
    (root / "etc" / "ssh" / "sshd_config").write_text("PermitRootLogin yes\nX11Forwarding no\n")

    def send(report: BaselineReport) -> None:
        answer = agent.client.post(BASELINE_PATH, content=msgspec.json.encode(report))
        assert answer.status_code == 200, answer.text

    policy = load_policy(BUILTIN_DIR / "linux.yaml")
    report = BaselineWorker(agent.host_id, send, [policy], target=Target(str(root))).run_once()
    statuses = [c.status for c in report.policies[0].checks]
    failed = statuses.count("fail")
    assert failed >= 1
    base = running.platform.console_url
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(
                viewport={"width": 1400, "height": 1000}, ignore_https_errors=True
            )

            def console_error(message: ConsoleMessage) -> None:
                if message.type == "error" and "ERR_NETWORK_CHANGED" not in message.text:
                    problems.append(f"{message.text} {message.location.get('url', '')}")

            def page_error(error: Error) -> None:
                problems.append(str(error))

            page.on("console", console_error)
            page.on("pageerror", page_error)
            page.goto(f"{base}/login.html")
            page.fill("#username", "admin")
            page.fill("#password", running.admin_password)
            page.click("#login-button")
            page.wait_for_url(f"{base}/")
            page.goto(f"{base}/baseline.html")
            row = page.locator(f'[data-testid=fleet-row][data-host-id="{agent.host_id}"]')
            expect(row.get_by_test_id("fleet-failed")).to_have_text(str(failed))
            row.get_by_role("link").click()
            page.wait_for_url(f"{base}/baseline.html?host={agent.host_id}")
            expect(page.get_by_test_id("host-failed")).to_have_text(str(failed))
            rows = page.get_by_test_id("check-row")
            expect(rows).to_have_count(len(statuses))
            shown = [rows.nth(i).get_attribute("data-status") for i in range(len(statuses))]
            assert shown[:failed] == ["fail"] * failed and "fail" not in shown[failed:]
            ssh = page.locator("[data-testid=check-row][data-check-id=ssh-root-login-not-yes]")
            expect(ssh).to_have_attribute("data-status", "fail")
            expect(ssh).to_contain_text("Set PermitRootLogin no")
            page.screenshot(path=str(artifacts_dir / "platform-baseline.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
