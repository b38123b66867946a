"""The console's Users page in Chromium: an admin adds a user, sets its role, makes a token."""

from __future__ import annotations

import httpx
import pytest

from tests.support.browser import logged_in_console
from tests.support.platform_runner import PlatformRunner


@pytest.mark.server
@pytest.mark.browser
def test_admin_manages_users_in_the_console(running: PlatformRunner, admin: httpx.Client) -> None:
    from playwright.sync_api import expect

    base = running.platform.console_url
    with logged_in_console(base, running.admin_password) as session:
        page = session.page
        page.click("#nav-users")
        expect(page.get_by_test_id("me-role")).to_have_text("admin")
        page.fill("#new-username", "walter")
        page.fill("#new-password", "short")
        page.click("#create-user")
        expect(page.get_by_test_id("action-result")).to_contain_text("password too short")
        page.fill("#new-password", "a-long-enough-secret")
        page.select_option("#new-role", "viewer")
        page.click("#create-user")
        row = page.locator('[data-testid=user-row][data-username="walter"]')
        expect(row).to_be_visible()
        row.get_by_test_id("user-role").select_option("analyst")
        expect(page.get_by_test_id("action-result")).to_have_text("walter is now analyst.")
        page.fill("#token-name", "prometheus")
        page.click("#create-token")
        expect(page.locator('[data-testid=token-row][data-name="prometheus"]')).to_be_visible()
        shown = page.get_by_test_id("token-shown").inner_text()
        audit = page.get_by_test_id("audit-row").filter(has_text="/api/v1/users/walter")
        expect(audit.first).to_contain_text("PATCH")
    users = {u["username"]: u["role"] for u in admin.get("/api/v1/users").json()}
    assert users["walter"] == "analyst"
    with running.console() as c:
        c.headers["Authorization"] = f"Bearer {shown}"
        assert c.get("/metrics").status_code == 200
