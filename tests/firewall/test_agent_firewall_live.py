"""The whole agent with `firewall: true` against a real platform, on real podman containers.

A web and a client container on a test network of their own: discover learns client ->
web:8080 at the platform; with both groups switched to network protect, the agent's
tables appear in both containers, the learned connection still works, a connection to
web:9090 is cut, and the violation reaches the platform as a `blocked` alert and as a
flow no rule allows (drawn in red on the flow map).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stockade.agent import Agent
from stockade.agent.firewall_sync import RULE_NAME
from stockade.firewall.nftrules import has_protection
from stockade.model.entities import Container
from stockade.profiles.groups import GROUP_LABEL, group_id
from stockade.respond import nftables
from tests.support.agent_runner import AgentRunner
from tests.support.ci import require
from tests.support.platform_runner import PlatformRunner
from tests.support.podman import Podman
from tests.support.polling import poll_until, poll_value

pytestmark = [pytest.mark.root, pytest.mark.podman, pytest.mark.server, pytest.mark.ebpf]
# An echo server per port (one forked `cat` per connection).
SERVE = "nc -ll -p 8080 -e cat & exec nc -ll -p 9090 -e cat"
# what waits on the agent: on a busy host its rounds and alerts may be a minute behind
AGENT_WAIT_S = 120.0


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A platform and a whole agent with the firewall on; the platform's admin client."""
    require(any(Path(d, "nft").exists() for d in os.environ["PATH"].split(":")), "nft missing")
    work = tmp_path_factory.mktemp("firewalled-host")
    platform = PlatformRunner(work / "platform").start()
    try:
        config = platform.agent_config(work / "agent", detectors=("profile",), firewall=True)
        with AgentRunner(Agent(config)), contextlib.closing(platform.login()) as client:
            yield client
    finally:
        platform.stop()


def _label_group(name: str) -> str:
    return group_id(Container(id="0" * 64, labels={GROUP_LABEL: name}))


def _protected(podman: Podman, container: str) -> bool:
    pid = podman.cmd("inspect", "-f", "{{.State.Pid}}", container).stdout.decode().strip()
    return has_protection(nftables.list_ruleset(Path(f"/proc/{pid}/ns/net")))


def _flow(admin: httpx.Client, src: str, dst: str, port: int) -> dict[str, Any]:
    flows: list[dict[str, Any]] = admin.get("/api/v1/flows").json()["flows"]
    return next((f for f in flows if (f["src"], f["dst"], f["port"]) == (src, dst, port)), {})


def _firewall_alerts(admin: httpx.Client, src: str) -> set[tuple[int, str, str]]:
    items: list[dict[str, Any]] = admin.get("/api/v1/alerts", params={"rule": RULE_NAME}).json()[
        "items"
    ]
    fields = [a["output_fields"] for a in items if a["output_fields"]["firewall.src"] == src]
    return {(f["firewall.port"], f["firewall.mode"], f["firewall.action"]) for f in fields}


def test_the_agents_firewall_learns_a_flow_then_protects_it(
    admin: httpx.Client, podman: Podman, busybox_image: str
) -> None:
    network = f"stockade-fwa-{uuid.uuid4().hex[:8]}"
    names = {r: f"fw-agent-{r}" for r in ("web", "client")}
    web_group, client_group = _label_group(names["web"]), _label_group(names["client"])
    podman.cmd("network", "create", network)
    started: list[str] = []
    try:
        for role, command in (("web", ("sh", "-c", SERVE)), ("client", ("sleep", "600"))):
            extra = ("--network", network, "--label", f"{GROUP_LABEL}={names[role]}")
            started.append(podman.run_detached(busybox_image, *command, extra=extra))
        web, client = started
        fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
        ip = podman.cmd("inspect", "-f", fmt, web).stdout.decode().strip()

        def reaches(port: int) -> bool:
            said = podman.exec(client, "sh", "-c", f"echo pong | nc -w 2 {ip} {port}", check=False)
            return said.startswith(b"pong")

        def learned() -> bool:
            podman.cmd("exec", "-d", client, "sh", "-c", f"sleep 3 | nc -w 2 {ip} 8080")
            return bool(_flow(admin, client_group, web_group, 8080).get("allowed"))

        # Discover: the platform learns client -> web:8080 from the agent's flows.
        poll_until(learned, AGENT_WAIT_S, "client -> web:8080 learned at the platform")
        # Protect: both groups; the agent puts its tables in both containers.
        for group in (web_group, client_group):
            changed = admin.put(f"/api/v1/groups/{group}/mode", json={"network": "protect"})
            assert changed.status_code == 200, changed.text
        poll_until(
            lambda: _protected(podman, web) and _protected(podman, client),
            AGENT_WAIT_S,
            "the agent's protect tables in both containers",
        )
        assert reaches(8080)
        assert not reaches(9090)
        violation = poll_value(
            lambda: _flow(admin, client_group, web_group, 9090),
            lambda f: f.get("violations", 0) >= 1,
            AGENT_WAIT_S,
            "the violation's flow at the platform",
        )
        assert not violation["allowed"]  # drawn in red on the flow map
        poll_value(
            lambda: _firewall_alerts(admin, client_group),
            lambda found: (9090, "protect", "blocked") in found,
            AGENT_WAIT_S,
            "the violation's alert at the platform",
        )
        assert reaches(8080)
    finally:
        podman.cmd("rm", "-f", "-t", "0", *started, check=False)
        podman.cmd("network", "rm", "-f", network, check=False)
