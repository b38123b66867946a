"""The web console shows a real container's shell alert to a logged-in admin."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, navigate
from tests.support.podman import Podman
from tests.support.polling import poll_until
from tests.support.processes import ADMIN_PASSWORD, SHELL_RULE, Running


@pytest.mark.root
@pytest.mark.ebpf
@pytest.mark.podman
@pytest.mark.server
@pytest.mark.browser
def test_console_shows_the_shell_alert(
    stockade_up: Running, podman: Podman, busybox_image: str, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    name, container_id, shell = podman.interactive_shell(busybox_image)
    try:
        poll_until(
            lambda: stockade_up.shell_alerts(container_id), 10, f"a shell alert for {container_id}"
        )
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            assert stockade_up.console_url.startswith("https://")
            # the console's certificate is from the platform CA, which Chromium does not know
            page = browser.new_page(
                viewport={"width": 1400, "height": 900}, ignore_https_errors=True
            )
            navigate(page, stockade_up.console_url)
            page.fill("#username", "admin")
            page.fill("#password", ADMIN_PASSWORD)
            page.click("#login-button")
            page.click("#nav-alerts")
            rows = page.locator("[data-testid=alert-row]", has_text=name)
            row = rows.filter(has_text=SHELL_RULE).first
            expect(row).to_be_visible(timeout=10_000)
            expect(row).to_contain_text("stockade-test-busybox")
            expect(row).to_contain_text(container_id[:12])
            page.screenshot(path=str(artifacts_dir / "console-alerts.png"), full_page=True)
            browser.close()
    finally:
        podman.remove(name)
        shell.kill()
