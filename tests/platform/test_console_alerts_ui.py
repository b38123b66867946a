"""The alert console in a real Chromium, against alerts an enrolled agent sent over mTLS.

Every page loads without a console error; on the alerts page an analyst pages, sorts,
filters, opens an alert's detail (every field, the raw JSON) and acknowledges, resolves and
marks it a false positive; the dashboard draws the chart and the top tables. Screenshots
are kept in the artifacts directory.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from stockade.model.alerts import Alert
from stockade.model.entities import Container
from stockade.model.wire import SensorStatus
from tests.support.agent_client import make_alert, make_event
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, navigate
from tests.support.platform_runner import PlatformRunner

pytestmark = [pytest.mark.server, pytest.mark.browser]

S = 1_000_000_000
CONTAINERS = [
    Container(id="a7" * 32, name="payments", image="registry.local/pay:4", runtime="podman"),
    Container(id="b8" * 32, name="frontend", image="registry.local/front:9", runtime="podman"),
]
RULES = ["Reverse shell", "Write below etc", "Crypto miner", "Terminal shell in container"]
PRIORITIES = ["Critical", "Warning", "Notice", "Error"]
COUNT = 60
PAGES = ["/", "/alerts.html", "/incidents.html", "/actions.html", "/images.html", "/users.html"]


@pytest.fixture(scope="module")
def sent(running: PlatformRunner, tmp_path_factory: pytest.TempPathFactory) -> list[Alert]:
    """COUNT alerts of the last minutes from one agent, and a heartbeat of its sensor."""
    agent = running.enroll(tmp_path_factory.mktemp("agent"), hostname="ui-node", host_id="uh")
    now = time.time_ns()
    events, alerts = [], []
    for i in range(COUNT):
        event = make_event(
            2 * i + 1,
            now - (COUNT - i) * S,
            container=CONTAINERS[i % 2],
            pid=2000 + i,
            host_id="uh",
        )
        alert = make_alert(2 * i + 2, event, rule=RULES[i % 4], priority=PRIORITIES[i % 4])
        alert.count = 1 + i % 5
        alert.tags = ["mitre_execution", "container"]
        events.append(event)
        alerts.append(alert)
    assert agent.send(agent.batch(events, alerts)).status_code == 200
    r = agent.heartbeat(SensorStatus(source="ebpf", events_by_type={"execve": 4200}, dropped=7))
    assert r.status_code == 200, r.text
    return alerts


def test_alert_console_flows(
    running: PlatformRunner, admin: httpx.Client, sent: list[Alert], artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base = running.platform.console_url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(
                viewport={"width": 1440, "height": 1000}, ignore_https_errors=True
            )
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if _counts(m) else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            navigate(page, f"{base}/login.html")
            page.fill("#username", "admin")
            page.fill("#password", running.admin_password)
            page.click("#login-button")
            page.wait_for_url(f"{base}/")
            for path in PAGES:  # each page loads, its data arrives, nothing is logged as an error
                navigate(page, f"{base}{path}")
                expect(page.locator("#logout")).to_be_visible()
                page.wait_for_load_state("networkidle")
                assert errors == [], f"{path}: {errors}"

            _dashboard(page, base, artifacts_dir)
            rows = page.locator("[data-testid=alert-row]")
            _paging(page, base, rows)
            _sorting(page, rows)
            _filtering(page, rows)
            page.screenshot(path=str(artifacts_dir / "console-alerts-filtered.png"), full_page=True)
            _triage(page, admin, rows, sent, artifacts_dir)
            assert errors == []
        finally:
            browser.close()


def _dashboard(page: Any, base: str, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    navigate(page, f"{base}/")
    expect(page.get_by_test_id("count-alerts")).to_have_text(str(COUNT))
    bars = page.locator("[data-testid=chart-bar]")
    expect(bars.first).to_be_visible()
    drawn = sum(int(b.get_attribute("data-count")) for b in bars.all())
    assert drawn == COUNT
    assert {b.get_attribute("data-priority") for b in bars.all()} == set(PRIORITIES)
    expect(page.locator("[data-testid=top-rule]")).to_have_count(len(RULES))
    top = page.locator('[data-testid=top-rule][data-key="Reverse shell"]')
    expect(top.locator("td").nth(1)).to_have_text(str(COUNT // 4))
    expect(page.locator("[data-testid=top-container]")).to_have_count(2)
    expect(page.locator("[data-testid=top-image]")).to_have_count(2)
    agent = page.locator("[data-testid=agent-row]", has_text="ui-node")
    expect(agent.get_by_test_id("agent-sensor-drops")).to_have_text("7 / 0")
    page.screenshot(path=str(artifacts_dir / "console-dashboard.png"), full_page=True)
    page.click("#nav-alerts")
    page.wait_for_url(f"{base}/alerts.html")


def _paging(page: Any, base: str, rows: Any) -> None:
    from playwright.sync_api import expect

    page.select_option("#filter-limit", "25")
    page.click("#filter-apply")
    expect(rows).to_have_count(25)
    assert "limit=25" in page.url
    first = _ids(rows)
    page.click("#page-next")
    expect(page.get_by_test_id("page-number")).to_have_text("page 2")
    expect(rows.first).not_to_have_attribute("data-id", first[0])
    second = _ids(rows)
    page.click("#page-next")
    expect(page.get_by_test_id("page-number")).to_have_text("page 3")
    expect(rows).to_have_count(COUNT - 50)
    expect(page.locator("#page-next")).to_be_disabled()
    third = _ids(rows)
    assert len(set(first + second + third)) == COUNT
    assert [int(i) for i in first + second + third] == sorted(
        (int(i) for i in first + second + third), reverse=True
    )  # newest first: stored in time order here
    page.click("#page-prev")
    expect(page.get_by_test_id("page-number")).to_have_text("page 2")
    expect(rows.first).to_have_attribute("data-id", second[0])
    navigate(page, f"{base}/alerts.html?limit=25")  # the URL keeps the filters
    expect(rows).to_have_count(25)


def _sorting(page: Any, rows: Any) -> None:
    from playwright.sync_api import expect

    page.click("#sort-rule")
    expect(page.locator("#sort-rule")).to_have_attribute("data-order", "asc")
    expect(rows.first.get_by_test_id("alert-rule")).to_have_text(sorted(RULES)[0])
    page.click("#sort-rule")
    expect(page.locator("#sort-rule")).to_have_attribute("data-order", "desc")
    expect(rows.first.get_by_test_id("alert-rule")).to_have_text(sorted(RULES)[-1])
    page.click("#sort-priority")
    expect(rows.first.get_by_test_id("alert-priority")).to_have_text("Critical")
    expect(rows.last.get_by_test_id("alert-priority")).to_have_text("Error")  # 15 Critical
    page.click("#page-next")
    page.click("#page-next")
    expect(rows.last.get_by_test_id("alert-priority")).to_have_text("Notice")
    page.click("#sort-time")


def _filtering(page: Any, rows: Any) -> None:
    from playwright.sync_api import expect

    page.fill("#filter-q", "miner")
    page.fill("#filter-container", "payments")
    page.select_option("#filter-range", "1h")
    page.click("#filter-apply")
    miners_in_payments = [i for i in range(COUNT) if RULES[i % 4] == "Crypto miner" and i % 2 == 0]
    expect(rows).to_have_count(len(miners_in_payments))
    for rule in rows.get_by_test_id("alert-rule").all_inner_texts():
        assert rule == "Crypto miner"
    for name in rows.get_by_test_id("alert-container-name").all_inner_texts():
        assert name == "payments"
    page.select_option("#filter-range", "15m")
    page.fill("#filter-q", "")
    page.fill("#filter-container", "")
    page.select_option("#filter-min_priority", "Error")
    page.select_option("#filter-limit", "100")
    page.click("#filter-apply")
    expect(rows).to_have_count(COUNT // 2)  # Critical and Error


def _triage(
    page: Any, admin: httpx.Client, rows: Any, sent: list[Alert], artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    row = rows.first
    uuid = row.get_attribute("data-uuid")
    alert_id = row.get_attribute("data-id")
    original = next(a for a in sent if a.uuid == uuid)
    row.get_by_test_id("alert-rule").click()
    detail = page.get_by_test_id("alert-detail")
    expect(detail).to_be_visible()
    expect(page.get_by_test_id("detail-title")).to_have_text(original.rule)
    expect(page.get_by_test_id("detail-count")).to_have_text(str(original.count))
    expect(page.get_by_test_id("detail-uuid")).to_have_text(original.uuid)
    expect(page.get_by_test_id("detail-container.name")).to_have_text(_container_of(original).name)
    expect(page.get_by_test_id("detail-process.cmdline")).to_have_text("sh -c id")
    expect(page.get_by_test_id("output-proc.pid")).to_have_text(
        str(original.output_fields["proc.pid"])
    )
    raw = msgspec.json.decode(page.get_by_test_id("detail-raw").inner_text())
    assert raw == msgspec.to_builtins(original)
    page.screenshot(path=str(artifacts_dir / "console-alert-detail.png"), full_page=True)
    for button, status, label in [
        ("#triage-acknowledge", "acknowledged", "acknowledged"),
        ("#triage-resolve", "resolved", "resolved"),
        ("#triage-false-positive", "false_positive", "false positive"),
    ]:
        page.click(button)
        expect(page.get_by_test_id("detail-status-badge")).to_have_text(label)
        expect(page.get_by_test_id("detail-triage")).to_contain_text("by admin at")
        expect(
            page.locator(f'[data-testid=alert-row][data-id="{alert_id}"]').get_by_test_id(
                "alert-status"
            )
        ).to_have_text(label)
        stored = admin.get(f"/api/v1/alerts/{alert_id}").json()
        assert (stored["status"], stored["status_by"]) == (status, "admin")
    incident = page.get_by_test_id("detail-triage").get_by_test_id("alert-incident")
    expect(incident).to_have_attribute("href", re.compile(r"^/incident\.html\?id=[0-9]+$"))
    page.screenshot(path=str(artifacts_dir / "console-alert-triaged.png"), full_page=True)
    page.select_option("#filter-min_priority", "")
    page.select_option("#filter-status", "false_positive")
    page.click("#filter-apply")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", str(alert_id))


def _counts(message: Any) -> bool:
    """An error the page logged; not Chromium noting that the machine's network changed
    (other tests create and remove container networks meanwhile), which is no page's fault."""
    return bool(message.type == "error" and "ERR_NETWORK_CHANGED" not in message.text)


def _ids(rows: Any) -> list[str]:
    return [str(r.get_attribute("data-id")) for r in rows.all()]


def _container_of(alert: Alert) -> Container:
    return next(c for c in CONTAINERS if c.id == alert.container_id)
