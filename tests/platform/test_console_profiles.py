"""The profiles page in a real Chromium: groups with their modes, a switch, the profile."""

from __future__ import annotations

import contextlib
from pathlib import Path

import msgspec
import pytest

from stockade.profiles.profile import Behaviour, Kind
from stockade.profiles.wire import LearnedGroup, LearnedReport
from tests.support.browser import logged_in_console
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server, pytest.mark.browser]
NS = 1_700_000_000_000_000_000  # long ago: the policy has moved the group to monitor
GROUP = "localhost-web-1a2b3c4d"


def test_groups_show_modes_switch_and_profile(
    running: PlatformRunner, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    agent = running.enroll(tmp_path, hostname="profiles-ui-node", host_id="profiles-ui-host")
    learned = [
        Behaviour(Kind.EXEC, "/usr/bin/python3.11"),
        Behaviour(Kind.EXEC_HASH, "/usr/bin/python3.11 sha256:" + "ab" * 32),
        Behaviour(Kind.PARENT, "<runtime> -> /usr/bin/python3.11"),
        Behaviour(Kind.LISTEN, "tcp/8080"),
        Behaviour(Kind.USER, "0"),
    ]
    report = LearnedReport(
        groups=[LearnedGroup(id=GROUP, name="localhost/web", first_seen_ns=NS, behaviours=learned)]
    )
    answer = agent.client.post("/api/v1/agent/profiles", content=msgspec.json.encode(report))
    assert answer.status_code == 200, answer.text

    base = running.platform.console_url
    with logged_in_console(base, running.admin_password, width=1300, height=1000) as session:
        page = session.page
        page.click("#nav-profiles")
        page.wait_for_url(f"{base}/profiles.html")
        row = page.locator(f'[data-testid="group-row"][data-group-id="{GROUP}"]')
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("mode-process-now")).to_have_attribute("data-mode", "monitor")
        row.get_by_test_id("mode-process").select_option("protect")
        expect(row.get_by_test_id("mode-process-now")).to_have_attribute("data-mode", "protect")
        expect(row.get_by_test_id("mode-network-now")).to_have_attribute("data-mode", "monitor")
        row.get_by_test_id("group-link").click()
        expect(page.get_by_test_id("profile-version")).to_contain_text("v1")
        executables = page.locator('[data-testid="profile-kind"][data-kind="executables"]')
        expect(executables).to_contain_text("/usr/bin/python3.11")
        expect(page.locator('[data-kind="listening_ports"]')).to_contain_text("tcp/8080")
        page.screenshot(path=str(artifacts_dir / "platform-profiles.png"), full_page=True)
    assert session.problems == []
    with contextlib.closing(running.login()) as admin:
        group = admin.get(f"/api/v1/groups/{GROUP}").json()
    assert group["process_mode"] == "protect" and group["process_mode_set"]
    assert not group["network_mode_set"]
