"""Headless Chromium as the console tests launch it (Debian's build, in a container)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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
            page.goto(f"{base}/login.html")
            page.fill("#username", "admin")
            page.fill("#password", password)
            page.click("#login-button")
            page.wait_for_url(f"{base}/")
            yield session
        finally:
            browser.close()
