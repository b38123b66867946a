"""Custom rules from the platform to a real agent (eBPF) and back: an analyst uploads a
rule matching a command run in a real container, the agent hot-loads it and the alert
arrives; other commands stay quiet; switched off it stops; a file the agent's sensor
cannot feed is refused on the agent, reported, and the previous rules keep running."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stockade.agent import Agent
from tests.support.agent_runner import AgentRunner
from tests.support.platform_runner import PlatformRunner
from tests.support.podman import Podman
from tests.support.polling import poll_value

pytestmark = [pytest.mark.root, pytest.mark.podman, pytest.mark.server, pytest.mark.ebpf]
MARKER = "stockade-custom-rule-marker"
SYNC = "stockade-custom-rule-sync"
WATCHED = "Custom marker read"
SYNCED = "Custom sync marker"


def _rule(name: str, marker: str) -> str:
    return f"""- rule: {name}
  desc: the test's own command in a container
  condition: evt.type in (execve, execveat) and container.id != host and proc.name = cat
    and proc.args contains {marker}
  output: marker read in a container (%proc.cmdline %container.id)
  priority: WARNING
  tags: [custom]
"""


NEEDS_FLOCK = """- rule: Custom lock watch
  desc: needs an event type the agent's sensor was not started with
  condition: evt.type = flock and proc.name = cat
  output: lock taken (%proc.cmdline)
  priority: NOTICE
"""


@pytest.fixture
def analyst(platform: PlatformRunner) -> Iterator[httpx.Client]:
    """A logged-in analyst."""
    with contextlib.closing(platform.add_user("live-analyst", "analyst")) as client:
        yield client


def _alerts(client: httpx.Client, rule: str) -> list[dict[str, Any]]:
    r = client.get("/api/v1/alerts", params={"rule": rule})
    r.raise_for_status()
    found: list[dict[str, Any]] = r.json()["items"]
    return found


def _agent_load(client: httpx.Client, agent_id: str, revision: int) -> dict[str, Any]:
    """The agent's report of `revision`, once it made one."""

    def report() -> dict[str, Any] | None:
        for load in client.get("/api/v1/rules/agents").json():
            if load["agent_id"] == agent_id and load["revision"] >= revision:
                return dict(load)
        return None

    found = poll_value(report, bool, 30, f"the agent's load of rules {revision}")
    assert found is not None
    return found


def _revision(client: httpx.Client) -> int:
    return int(client.get("/api/v1/rules").json()["revision"])


def _sync(podman: Podman, container: str, client: httpx.Client, count: int) -> None:
    """Run the sync marker and wait for its `count`th alert: the events before it are judged."""
    podman.exec(container, "cat", f"/{SYNC}", check=False)
    poll_value(lambda: _alerts(client, SYNCED), lambda f: len(f) >= count, 30, "the sync alert")


def test_uploaded_rule_alerts_then_stops_and_a_refused_one_keeps_the_rules(
    platform: PlatformRunner, analyst: httpx.Client, podman: Podman, busybox_image: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    own = tmp_path / "own.yaml"  # the agent's own rules: execs only, so its sensor starts quickly
    own.write_text(_rule("Agent's own rule", "stockade-never-run"))
    config = platform.agent_config(
        tmp_path / "agent", rules=(own,), detectors=("rules",), inventory=False, alert_window_s=0
    )
    runner = AgentRunner(Agent(config))
    runner.start()
    try:
        agent_id = runner.agent.agent_id
        container = podman.run_detached(busybox_image, "sleep", "600")
        for name, text in (
            ("watched.yaml", _rule(WATCHED, MARKER)),
            ("sync.yaml", _rule(SYNCED, SYNC)),
        ):
            stored = analyst.put(f"/api/v1/rules/files/{name}", json={"content": text})
            assert stored.status_code == 200, stored.text
        assert _agent_load(analyst, agent_id, _revision(analyst))["loaded"]

        podman.exec(container, "cat", "/etc/hostname")  # the benign twins
        podman.exec(container, "ls", "/")
        podman.exec(container, "cat", f"/{MARKER}", check=False)
        [alert] = poll_value(lambda: _alerts(analyst, WATCHED), bool, 30, "the custom rule's alert")
        assert alert["container_id"] == container and MARKER in alert["output"]
        _sync(podman, container, analyst, 1)
        assert len(_alerts(analyst, WATCHED)) == 1  # the benign commands raised nothing

        switched = analyst.put("/api/v1/rules/enabled", json={"rule": WATCHED, "enabled": False})
        assert switched.status_code == 204, switched.text
        assert _agent_load(analyst, agent_id, _revision(analyst))["loaded"]
        podman.exec(container, "cat", f"/{MARKER}", check=False)
        _sync(podman, container, analyst, 2)
        assert len(_alerts(analyst, WATCHED)) == 1  # switched off: no second alert

        refused = analyst.put("/api/v1/rules/files/lock.yaml", json={"content": NEEDS_FLOCK})
        assert refused.status_code == 200, refused.text  # the platform compiles it fine
        load = _agent_load(analyst, agent_id, _revision(analyst))
        assert not load["loaded"]
        assert load["error"].startswith("lock.yaml:1:3: rule 'Custom lock watch' needs event")
        _sync(podman, container, analyst, 3)  # the previous rules still run
    finally:
        runner.stop()
