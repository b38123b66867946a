"""The web console lists a scanned image and shows its findings, in a real Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, navigate
from tests.support.corpus_scan import app_image_json, app_image_scan
from tests.support.platform_runner import PlatformRunner

IMAGE_NAME = "registry.local/shop/app:1.4"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[PlatformRunner]:
    """A real platform for this test."""
    server = PlatformRunner(tmp_path / "platform").start()
    yield server
    server.stop()


@pytest.mark.server
@pytest.mark.browser
def test_console_shows_an_image_and_its_findings(
    platform: PlatformRunner, corpus: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    admin = platform.login()
    r = admin.post("/api/v1/scans", content=app_image_json(corpus), params={"name": IMAGE_NAME})
    admin.close()
    assert r.status_code == 201, r.text
    digest = app_image_scan(corpus).image_digest
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        assert platform.platform.console_url.startswith("https://")
        # the console's certificate is from the platform CA, which Chromium does not know
        page = browser.new_page(viewport={"width": 1400, "height": 900}, ignore_https_errors=True)
        navigate(page, platform.platform.console_url)
        page.fill("#username", "admin")
        page.fill("#password", platform.admin_password)
        page.click("#login-button")
        page.click("#nav-images")
        row = page.locator("[data-testid=image-row]", has_text=IMAGE_NAME)
        expect(row).to_be_visible(timeout=10_000)
        expect(row).to_contain_text(digest)
        expect(row).to_contain_text("debian 12")
        expect(row.locator("[data-severity=CRITICAL]")).to_have_text("C 2")
        page.screenshot(path=str(artifacts_dir / "console-images.png"), full_page=True)

        row.locator("[data-testid=image-link]").click()
        findings = page.locator("[data-testid=finding-row]")
        expect(findings).to_have_count(10, timeout=10_000)
        secret = page.locator("[data-testid=finding-row][data-finding-id=github-pat]")
        expect(secret.locator("[data-testid=finding-severity]")).to_have_text("CRITICAL")
        expect(secret).to_contain_text("app/deploy.sh")
        expect(secret.locator("[data-testid=finding-layer]")).to_contain_text("sha256:")
        expect(page.locator("[data-testid=image-title]")).to_have_text(IMAGE_NAME)
        expect(page.locator("[data-testid=package-row]")).to_have_count(150)
        page.screenshot(path=str(artifacts_dir / "console-image-detail.png"), full_page=False)

        page.select_option("#filter-kind", "secret")
        page.click("#finding-filters button")
        expect(findings).to_have_count(3)
        browser.close()
