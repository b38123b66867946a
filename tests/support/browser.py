"""Headless Chromium as the console tests launch it (Debian's build, in a container)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.support.polling import poll_until

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

NAVIGATION_TIMEOUT_S = 30


def navigate(page: Page, url: str) -> None:
    """Load `url` in `page`, again when Chromium gave up because the host's network changed.

    Chromium aborts a load in flight with ERR_NETWORK_CHANGED whenever an interface comes or
    goes, and the tests start containers (each a veth) all the time: that is not the page's
    failure. Any other error is raised at once.
    """
    from playwright.sync_api import Error

    def loaded() -> bool:
        try:
            page.goto(url)
        except Error as error:
            if "ERR_NETWORK_CHANGED" not in str(error):
                raise
            return False
        return True

    poll_until(loaded, NAVIGATION_TIMEOUT_S, f"{url} to load while the host's network settled")


@dataclass
class ConsoleSession:
    """A logged-in console page and what the browser reported as going wrong on it."""

    page: Page
    problems: list[str] = field(default_factory=list)


@contextmanager
def logged_in_console(
    base: str, password: str, *, width: int = 1400, height: int = 1000
) -> Iterator[ConsoleSession]:
    """Chromium on the console's start page, logged in as admin; collects console errors.

    Chromium's note that the machine's network changed (other tests add and remove
    container networks) is not the page's error and is left out.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(
                viewport={"width": width, "height": height}, ignore_https_errors=True
            )
            session = ConsoleSession(page)

            def console_error(message: ConsoleMessage) -> None:
                if message.type == "error" and "ERR_NETWORK_CHANGED" not in message.text:
                    session.problems.append(f"{message.text} {message.location.get('url', '')}")

            page.on("console", console_error)
            page.on("pageerror", lambda error: session.problems.append(str(error)))
            navigate(page, f"{base}/login.html")
            page.fill("#username", "admin")
            page.fill("#password", password)
            page.click("#login-button")
            page.wait_for_url(f"{base}/")
            yield session
        finally:
            browser.close()
