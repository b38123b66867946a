"""deploy/compose.yaml brought up for real with podman-compose: its two API nodes and two
workers from the images deploy/images/build.sh makes, on NATS JetStream and PostgreSQL; an
agent enrolls with the first node and posts a batch, and its events are found stored in
PostgreSQL (through NATS and a worker); then everything is torn down with its volumes.

What the test changes of compose.yaml, in a copy: the NATS and PostgreSQL images (pulled
from a registry, which is not reachable here) become one image made from this host's
Debian packages (tests/support/services_image.py); the published ports become free ports
on loopback (PostgreSQL's too, so the test can read it); the images carry the tag the
build gave them; the agent service is left out (the agent image is tested in
test_images.py; here a test agent posts the batch), and with it the servers' shared
network alias, which Debian 12's podman-compose cannot read. The servers' and workers'
other settings are compose.yaml's own.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml

from tests.support.agent_client import TestAgent, make_event
from tests.support.ci import require
from tests.support.deploy_images import BUILD_TIMEOUT_S, DEPLOY
from tests.support.podman import BASE_FLAGS, RUN_FLAGS, Podman
from tests.support.polling import poll_until, poll_value
from tests.support.ports import free_port
from tests.support.services_image import POSTGRES_START, services_image

pytestmark = [pytest.mark.podman, pytest.mark.slow, pytest.mark.timeout(BUILD_TIMEOUT_S)]

PG_PASSWORD = "compose-test-secret-1"
START_TIMEOUT_S = 120
PLATFORM_SERVICES = ("server-1", "server-2", "worker-1", "worker-2")
PROJECT_LABEL = "io.podman.compose.project"  # podman-compose labels each container with it


class Compose:
    """podman-compose on one project: the test's copy of compose.yaml and its .env."""

    def __init__(self, directory: Path, project: str) -> None:
        self.directory = directory
        self.project = project

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """`podman-compose ARGS` with this machine's podman flags; fails on an error."""
        command = [
            "podman-compose",
            *("-p", self.project, "-f", str(self.directory / "compose.yaml")),
            *("--podman-args", " ".join(BASE_FLAGS)),
            *("--podman-run-args", " ".join(RUN_FLAGS)),
            *args,
        ]
        done = subprocess.run(
            command, cwd=self.directory, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"{' '.join(args)}: {done.stderr[-3000:]}"
        return done

    def container(self, service: str) -> str:
        """The name podman-compose gives a service's (first) container."""
        return f"{self.project}_{service}_1"


def _test_copy(images: tuple[str, str], services: str) -> tuple[dict[str, Any], dict[str, int]]:
    """compose.yaml as the test runs it (see the module's docstring), and its ports."""
    spec: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    ports = {name: free_port() for name in ("console", "agent", "console-2", "agent-2", "pg")}
    run = spec["services"]
    del run["agent"]
    run["nats"]["image"] = services
    run["nats"]["entrypoint"] = ["/usr/sbin/nats-server"]
    run["postgres"]["image"] = services
    # `$$`: compose interpolates `$NAME` in its file; the script's own are the shell's
    run["postgres"]["entrypoint"] = ["/bin/sh", "-c", POSTGRES_START.replace("$", "$$")]
    run["postgres"]["ports"] = [f"127.0.0.1:{ports['pg']}:5432"]
    for name in PLATFORM_SERVICES:
        run[name]["image"] = images[1]
        # Debian 12's podman-compose (1.0.3) cannot read a network's aliases (a mapping);
        # the shared alias is only the agent's way to the servers, and the agent is left out
        run[name].pop("networks", None)
    run["server-1"]["ports"] = [
        f"127.0.0.1:{ports['console']}:8700",
        f"127.0.0.1:{ports['agent']}:8701",
    ]
    run["server-2"]["ports"] = [
        f"127.0.0.1:{ports['console-2']}:8700",
        f"127.0.0.1:{ports['agent-2']}:8701",
    ]
    return spec, ports


@pytest.fixture
def compose(
    images: tuple[str, str], podman: Podman, tmp_path: Path
) -> Iterator[tuple[Compose, dict[str, int]]]:
    require(shutil.which("podman-compose"), "podman-compose not installed")
    spec, ports = _test_copy(images, services_image(podman, tmp_path))
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (tmp_path / ".env").write_text(f"STOCKADE_PG_PASSWORD={PG_PASSWORD}\n")
    running = Compose(tmp_path, f"stockade-test-{uuid.uuid4().hex[:8]}")
    try:
        yield running, ports
    finally:
        # The project's containers, then its volumes, each in one call: podman-compose
        # 1.0.3's `down` removes them one after the other and sleeps a second after each
        # volume (~10 s in all); it then finds nothing of them left to remove.
        label = f"label={PROJECT_LABEL}={running.project}"
        podman.cmd("rm", "-f", "-t", "0", "--filter", label, check=False)
        volumes = podman.cmd("volume", "ls", "-q", "--filter", label, check=False).stdout.split()
        if volumes:
            podman.cmd("volume", "rm", "-f", *(v.decode() for v in volumes), check=False)
        subprocess.run(
            ["podman-compose", "-p", running.project, "-f", str(tmp_path / "compose.yaml"),
             "--podman-args", " ".join(BASE_FLAGS), "down", "-v", "-t", "0"],
            cwd=tmp_path, capture_output=True, timeout=300,
        )  # fmt: skip
        # podman-compose 1.0.3's `down` leaves the project's network
        podman.cmd("network", "rm", f"{running.project}_default", check=False)


def _healthy(podman: Podman, project: Compose, service: str) -> bool:
    """The service's own healthcheck from compose.yaml, run once in its container (by
    `podman exec`: podman-compose 1.0.3 quotes a CMD healthcheck's arguments wrongly)."""
    test = yaml.safe_load((project.directory / "compose.yaml").read_text())["services"][service]
    command = test["healthcheck"]["test"]
    assert command[0] == "CMD", command
    done = podman.cmd("exec", project.container(service), *command[1:], check=False)
    return done.returncode == 0


def _stored_events(url: str, agent_id: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            found = await conn.fetchval("SELECT count(*) FROM events WHERE agent_id = $1", agent_id)
            return int(found)
        finally:
            await conn.close()

    try:
        return asyncio.run(count())
    except (OSError, asyncpg.PostgresError):
        return -1  # not there yet


def test_compose_fleet_stores_a_batch_in_postgresql_through_nats(
    compose: tuple[Compose, dict[str, int]], podman: Podman, tmp_path: Path
) -> None:
    project, ports = compose
    # in dependency order, each waited for by compose.yaml's own healthcheck (podman-compose
    # starts services in order but does not wait for `condition: service_healthy`)
    project.run("up", "-d", "postgres", "nats")
    poll_until(lambda: _healthy(podman, project, "postgres"), START_TIMEOUT_S, "postgres")
    project.run("up", "-d", "server-1")
    poll_until(lambda: _healthy(podman, project, "server-1"), START_TIMEOUT_S, "server-1")
    project.run("up", "-d", *PLATFORM_SERVICES)  # server-2 and the workers

    server = project.container("server-1")
    made = podman.cmd("exec", server, "stockade", "token", "create")
    token = made.stdout.decode().strip()
    ca = podman.cmd("exec", server, "cat", "/var/lib/stockade/platform/pki/ca.crt").stdout.decode()
    agent = TestAgent.enroll(
        f"https://127.0.0.1:{ports['agent']}", ca, token, tmp_path / "agent", host_id="compose-1"
    )
    now = time.time_ns()
    events = [make_event(seq, now + seq, host_id=agent.host_id) for seq in range(1, 51)]
    answer = agent.send(agent.batch(events))
    assert answer.status_code == 200, answer.text

    url = f"postgresql://stockade:{PG_PASSWORD}@127.0.0.1:{ports['pg']}/stockade"
    stored = poll_value(
        lambda: _stored_events(url, agent.agent_id),
        lambda n: n == len(events),
        START_TIMEOUT_S,
        "the batch stored in PostgreSQL by a worker",
    )
    assert stored == len(events)
    running = [
        podman.cmd("inspect", "--format", "{{.State.Running}}", project.container(name)).stdout
        for name in PLATFORM_SERVICES
    ]
    assert running == [b"true\n"] * len(PLATFORM_SERVICES), "the fleet's shape is up"
