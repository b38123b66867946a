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
from tests.support.browser import logged_in_console, navigate
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server, pytest.mark.browser]


def test_baseline_page_shows_failing_checks_first(
    running: PlatformRunner, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

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
    with logged_in_console(base, running.admin_password) as session:
        page = session.page
        navigate(page, f"{base}/baseline.html")
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
    assert session.problems == []
