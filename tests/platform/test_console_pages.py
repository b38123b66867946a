"""The console's pages share one menu: each signed-in page leaves an empty topbar that
app.js draws, loads app.js before its own script, and every menu entry is a page."""

from __future__ import annotations

import re

from stockade.platform.ui import STATIC_DIR

SIGNED_IN = sorted(p for p in STATIC_DIR.glob("*.html") if p.name != "login.html")


def test_every_signed_in_page_leaves_its_topbar_to_app_js() -> None:
    for page in SIGNED_IN:
        text = page.read_text()
        assert '<header class="topbar"></header>' in text, page.name
        assert "<nav" not in text, f"{page.name} carries its own menu"
        scripts = re.findall(r'<script src="/([^"]+)"', text)
        assert scripts[0] == "app.js", page.name


def test_every_menu_entry_is_a_page_and_every_list_page_is_in_the_menu() -> None:
    app = (STATIC_DIR / "app.js").read_text()
    menu = re.search(r"const MENU = \[(.*?)\n\];", app, re.S)
    assert menu is not None
    hrefs = re.findall(r'\["[a-z]+", "(/[a-z.]*)", "[A-Za-z]+"\]', menu.group(1))
    pages = {("/" if h == "/" else h.lstrip("/")) for h in hrefs}
    for href in pages - {"/"}:
        assert (STATIC_DIR / href).is_file(), href
    details = {"host.html", "incident.html", "index.html"}  # reached from their lists
    assert {p.name for p in SIGNED_IN} - details <= pages
