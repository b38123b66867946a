"""The web console in a real Chromium: log in, see on the dashboard every panel drawn from
what an enrolled agent sent (alerts over time by priority, top rules, containers and images,
the agent's health), then the alert itself, with no console error."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import msgspec
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

DB = Container(id="d4" * 32, name="orders-db", image="localhost/postgres:ui-test", runtime="podman")
OTHER_ALERTS = [  # rule, priority, container (None: the host), occurrences
    ("Write below etc", "Critical", DB, 1),
    ("Write below etc", "Critical", DB, 3),
    ("Terminal shell in container", "Notice", DB, 1),
    ("Kernel module", "Error", None, 1),
]
SENSOR = SensorStatus(
    source="proc_connector",
    degraded="eBPF unavailable: no BTF at /sys/kernel/btf/vmlinux",
    dropped=5,
    decode_errors=2,
    spool_dropped=19_279,
)


@pytest.mark.server
@pytest.mark.browser
def test_alert_shows_process_container_and_image(
    running: PlatformRunner, admin: httpx.Client, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    agent = running.enroll(tmp_path, hostname="ui-host")
    event = make_event(1, time.time_ns(), container=WEB, proc_name="sh", pid=31337)
    alert = make_alert(2, event, rule="Terminal shell in container", priority="Warning")
    alert.count = 7  # seven identical alerts, aggregated at the agent
    events, alerts = [event], [alert]
    for rule, priority, container, count in OTHER_ALERTS:
        events.append(make_event(len(events) * 2 + 1, time.time_ns(), container=container))
        alerts.append(make_alert(events[-1].seq + 1, events[-1], rule=rule, priority=priority))
        alerts[-1].count = count
    assert agent.send(agent.batch(events, alerts)).status_code == 200
    # a fallback sensor that dropped and could not decode some, and an overflowed spool:
    # the console must show the loss and why the agent runs degraded; two heartbeats make
    # a rate of events per second
    for execs in (1_000, 4_000):
        sensor = msgspec.structs.replace(SENSOR, events_by_type={"execve": execs, "connect": 50})
        r = agent.heartbeat(sensor)
        assert r.status_code == 200, r.text
    base = running.platform.console_url
    [health] = [
        a for a in running.login().get("/api/v1/agents").json() if a["id"] == agent.agent_id
    ]
    assert health["events_per_s"] > 0

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            assert base.startswith("https://")
            # the console's certificate is from the platform CA, which Chromium does not know
            page = browser.new_page(
                viewport={"width": 1440, "height": 900}, ignore_https_errors=True
            )
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if _counts(m) else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            navigate(page, f"{base}/alerts.html")
            page.wait_for_url(f"{base}/login.html")
            page.fill("#password", "wrong")
            page.click("#login-button")
            expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
            page.fill("#password", running.admin_password)
            page.click("#login-button")
            page.wait_for_url(f"{base}/")
            # before: the page asked for logged out and the wrong password, answered 401
            assert all("401" in e for e in errors), errors
            errors.clear()
            recent = page.locator(f'[data-testid=recent-alert-row][data-uuid="{alert.uuid}"]')
            expect(recent).to_contain_text("Terminal shell in container")
            expect(page.locator(f'[data-testid=container-row][data-container-id="{WEB.id}"]'))
            _chart(page)
            _tops(page)
            _health(page, agent.agent_id, health["events_per_s"])
            page.wait_for_load_state("networkidle")
            assert errors == [], errors
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
            assert errors == [], errors
        finally:
            browser.close()


def _chart(page: Any) -> None:
    """One stacked bar segment per priority sent, its count that priority's alerts; a
    legend entry for each, most severe first."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("count-alerts")).to_have_text(str(1 + len(OTHER_ALERTS)))
    expect(page.get_by_test_id("alerts-chart")).to_be_visible()
    bars = page.locator("[data-testid=chart-bar]")
    expect(bars.first).to_be_visible()
    drawn: Counter[str] = Counter()
    for bar in bars.all():
        priority = str(bar.get_attribute("data-priority"))
        assert f"prio-fill-{priority.lower()}" in str(bar.get_attribute("class"))
        drawn[priority] += int(str(bar.get_attribute("data-count")))
    sent = Counter(["Warning"] + [priority for _, priority, _, _ in OTHER_ALERTS])
    assert drawn == sent
    legend = page.locator("#chart .legend-item").all_inner_texts()
    assert legend == ["Critical", "Error", "Warning", "Notice"]


def _tops(page: Any) -> None:
    """Top rules, containers and images: each group's alerts and occurrences (repeats
    aggregated at the agent counted), most alerts first."""
    expected = {
        "top-rule": [
            ("Terminal shell in container", "Terminal shell in container", "2", "8"),
            ("Write below etc", "Write below etc", "2", "4"),
            ("Kernel module", "Kernel module", "1", "1"),
        ],
        "top-container": [
            (DB.id, "orders-db", "3", "5"),
            (WEB.id, "shop-frontend", "1", "7"),  # ties by key
            ("host", "host", "1", "1"),
        ],
        "top-image": [(DB.image, DB.image, "3", "5"), (WEB.image, WEB.image, "1", "7")],
    }
    for testid, rows in expected.items():
        found = [
            (str(row.get_attribute("data-key")), *row.locator("td").all_inner_texts())
            for row in page.locator(f"[data-testid={testid}]").all()
        ]
        assert found == [tuple(r) for r in rows], testid


def _health(page: Any, agent_id: str, events_per_s: float) -> None:
    """The agent's health: degraded and why, its rate of events, the sensor's and the
    spool's losses."""
    from playwright.sync_api import expect

    row = page.locator(f'[data-testid=agent-row][data-agent-id="{agent_id}"]')
    expect(row.locator(".badge")).to_have_text("degraded")
    expect(row.get_by_test_id("agent-degraded")).to_have_text(SENSOR.degraded)
    expect(row.locator("td").nth(2)).to_contain_text(SENSOR.source)
    assert float(row.get_by_test_id("agent-rate").inner_text()) == events_per_s
    expect(row.get_by_test_id("agent-sensor-drops")).to_have_text("5 / 2")
    expect(row.get_by_test_id("agent-lost")).to_have_text("19279 / 0")


def _counts(message: Any) -> bool:
    """An error the page logged; not Chromium noting that the machine's network changed
    (other tests create and remove container networks meanwhile), which is no page's fault."""
    return bool(message.type == "error" and "ERR_NETWORK_CHANGED" not in message.text)
