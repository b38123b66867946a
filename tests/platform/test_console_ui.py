"""The web console in a real Chromium: log in, see an alert sent by an enrolled agent."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from stockade.model.entities import Container
from stockade.model.wire import SensorStatus
from tests.support.agent_client import make_alert, make_event
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, navigate
from tests.support.platform_runner import PlatformRunner

WEB = Container(
    id="e3" * 32,
    name="shop-frontend",
    image="localhost/busybox:ui-test",
    image_digest="sha256:" + "5f" * 32,
    runtime="podman",
)


@pytest.mark.server
@pytest.mark.browser
def test_alert_shows_process_container_and_image(
    running: PlatformRunner, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    agent = running.enroll(tmp_path, hostname="ui-host")
    event = make_event(1, time.time_ns(), container=WEB, proc_name="sh", pid=31337)
    alert = make_alert(2, event, rule="Terminal shell in container", priority="Warning")
    alert.count = 7  # seven identical alerts, aggregated at the agent
    assert agent.send(agent.batch([event], [alert])).status_code == 200
    # the agent's spool overflowed: the console must show the loss
    r = agent.heartbeat(SensorStatus(source="ebpf", spool_dropped=19_279))
    assert r.status_code == 200, r.text
    base = running.platform.console_url

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            assert base.startswith("https://")
            # the console's certificate is from the platform CA, which Chromium does not know
            page = browser.new_page(
                viewport={"width": 1440, "height": 900}, ignore_https_errors=True
            )
            navigate(page, f"{base}/alerts.html")
            page.wait_for_url(f"{base}/login.html")
            page.fill("#password", "wrong")
            page.click("#login-button")
            expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
            page.fill("#password", running.admin_password)
            page.click("#login-button")
            page.wait_for_url(f"{base}/")
            recent = page.locator(f'[data-testid=recent-alert-row][data-uuid="{alert.uuid}"]')
            expect(recent).to_contain_text("Terminal shell in container")
            expect(page.locator(f'[data-testid=container-row][data-container-id="{WEB.id}"]'))
            agent_row = page.locator(f'[data-testid=agent-row][data-agent-id="{agent.agent_id}"]')
            expect(agent_row.get_by_test_id("agent-lost")).to_have_text("19279 / 0")
            page.screenshot(path=str(artifacts_dir / "platform-dashboard.png"), full_page=True)

            page.click("#nav-alerts")
            row = page.locator(f'[data-testid=alert-row][data-uuid="{alert.uuid}"]')
            expect(row).to_be_visible()
            expected = {
                "alert-rule": "Terminal shell in container",
                "alert-priority": "Warning",
                "alert-count": "7",
                "alert-proc-name": "sh",
                "alert-proc-pid": "31337",
                "alert-proc-cmdline": "sh -c id",
                "alert-container-name": "shop-frontend",
                "alert-container-short-id": WEB.id[:12],
                "alert-container-id": WEB.id,
                "alert-image": WEB.image,
                "alert-image-digest": WEB.image_digest,
            }
            for testid, text in expected.items():
                expect(row.get_by_test_id(testid)).to_have_text(text)
            expect(row.get_by_test_id("alert-output")).to_contain_text("A shell was spawned")
            page.screenshot(path=str(artifacts_dir / "platform-alerts.png"), full_page=True)
            page.click("#logout")
            page.wait_for_url(f"{base}/login.html")
        finally:
            browser.close()
