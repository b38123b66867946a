"""The agent's firewall round against a real platform and real podman containers.

A web and a client container on a test network, their containers resolved by the
agent's own resolver: discover learns client -> web:8080 on the platform; in monitor a
connection to a new port raises one alert however often it happens; in protect that
port is cut while the learned one keeps working, also after the web container restarts.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import kubernetes_validate
import pytest
import yaml

from stockade.agent.firewall_sync import FirewallSync, running_containers
from stockade.context.local import local_context_stage
from stockade.firewall.nftrules import has_protection
from stockade.model import Alert, Container, Host
from stockade.profiles.groups import GROUP_LABEL, group_id
from stockade.profiles.modes import Mode
from stockade.respond import nftables
from tests.support.ci import require
from tests.support.platform_runner import PlatformRunner
from tests.support.podman import RUN_FLAGS, Podman
from tests.support.polling import poll_until

pytestmark = [pytest.mark.root, pytest.mark.podman, pytest.mark.server]
# An echo server per port (one forked `cat` per connection), so a client holds its
# connection open as long as it keeps its own input open.
SERVE = "nc -ll -p 8080 -e cat & exec nc -ll -p 9090 -e cat"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[PlatformRunner]:
    """A real platform for this test."""
    server = PlatformRunner(tmp_path / "platform").start()
    yield server
    server.stop()


@pytest.fixture
def network(podman: Podman) -> Iterator[str]:
    """A podman bridge network of the test's own."""
    require(any(Path(d, "nft").exists() for d in os.environ["PATH"].split(":")), "nft missing")
    name = f"stockade-fws-{uuid.uuid4().hex[:8]}"
    podman.cmd("network", "create", name)
    yield name
    podman.remove_started()
    podman.cmd("network", "rm", "-f", name, check=False)


def test_discover_monitor_protect_through_the_platform(
    platform: PlatformRunner, podman: Podman, busybox_image: str, network: str, tmp_path: Path
) -> None:
    net = ("--network", network)
    names = {"web": f"{network}-web", "client": f"{network}-client"}
    podman.run_detached(busybox_image, "sh", "-c", SERVE, name=names["web"],
                        extra=(*net, "--label", f"{GROUP_LABEL}=fws-web"))  # fmt: skip
    podman.run_detached(busybox_image, "sleep", "600", name=names["client"],
                        extra=(*net, "--label", f"{GROUP_LABEL}=fws-client"))  # fmt: skip
    resolver = local_context_stage().resolver

    def running() -> list[Container]:
        """The test's two containers (web, client), as the agent lists running ones."""
        ids = [podman.inspect_id(n) for n in names.values()]
        listed = {c.id: c for c in running_containers(resolver)}
        return [listed[i] for i in ids]

    web, client = running()
    web_group, client_group = group_id(web), group_id(client)
    assert web.ip and client.ip, (web, client)

    def members() -> list[Container]:
        """Every running container of the test's two groups, as the agent lists them."""
        groups = (web_group, client_group)
        return [c for c in running_containers(resolver) if group_id(c) in groups]

    def reaches(port: int) -> bool:
        address = running()[0].ip
        out = podman.exec(
            names["client"], "sh", "-c", f"echo pong | nc -w 2 {address} {port}", check=False
        )
        return out.startswith(b"pong")

    def hold(port: int) -> None:
        podman.cmd("exec", "-d", names["client"], "sh", "-c",
                   f"sleep 3 | nc -w 2 {running()[0].ip} {port}")  # fmt: skip

    poll_until(lambda: reaches(8080), 30, "the web container to answer")
    creds = platform.credentials(tmp_path / "agent", Host(id="fws-host", hostname="fws-node"))
    admin = platform.login()

    def set_network_mode(*groups_and_mode: str) -> None:
        *groups, mode = groups_and_mode
        for group in groups:
            changed = admin.put(f"/api/v1/groups/{group}/mode", json={"network": mode})
            assert changed.status_code == 200, changed.text

        def taken() -> bool:
            sync.sync_once(client_http)
            return all(sync.network_mode(g, time.time_ns()) == Mode(mode) for g in groups)

        poll_until(taken, 30, f"the agent to take network mode {mode}")

    alerts: list[Alert] = []
    sync = FirewallSync(platform.agent_url, creds, members, alerts.extend, host_id="fws-host")
    with httpx.Client(verify=creds.ssl_context(), timeout=10.0) as client_http:

        def rounds(port: int, until: object) -> None:
            def once() -> bool:
                hold(port)
                sync.sync_once(client_http)
                return bool(until if not callable(until) else until())

            poll_until(once, 60, f"a firewall round to see port {port}")

        # Discover: the platform learns client -> web:8080, and the agent fetches the rule.
        rounds(8080, lambda: any(r.port == 8080 and r.src == client_group and r.dst == web_group
                                 for r in sync.rules))  # fmt: skip
        # Monitor: a connection to 9090 is one alert, however often it happens.
        set_network_mode(web_group, client_group, "monitor")
        rounds(9090, lambda: alerts)
        for _ in range(3):
            hold(9090)
            hold(8080)
            sync.sync_once(client_http)
        assert [
            (a.output_fields["firewall.port"], a.output_fields["firewall.mode"]) for a in alerts
        ] == [(9090, "monitor")]
        assert alerts[0].container_id == client.id

        # Protect: 8080 keeps working, 9090 is cut; the same after the web container restarts.
        set_network_mode(web_group, client_group, "protect")
        assert reaches(8080)
        assert not reaches(9090)
        podman.cmd("restart", "-t", "0", names["web"])
        sync.sync_once(client_http)
        assert has_protection(nftables.list_ruleset(Path(f"/proc/{running()[0].pid}/ns/net")))
        poll_until(lambda: reaches(8080), 30, "the restarted web on 8080")
        assert not reaches(9090)

        # A new client is let in from its first connection: its address reaches the web's
        # table as the runtime creates the container, not at the next round (none runs here).
        sync.watch_starts()
        try:
            once = f"echo pong | nc -w 2 {running()[0].ip} 8080"
            first = podman.cmd("run", "--rm", *RUN_FLAGS, *net,
                               "--label", f"{GROUP_LABEL}=fws-client", busybox_image,
                               "sh", "-c", once)  # fmt: skip
        finally:
            sync.stop()
        assert first.stdout.startswith(b"pong"), first

    flows = {f["port"]: f for f in admin.get("/api/v1/flows").json()["flows"]}
    assert flows[8080]["allowed"] and not flows[9090]["allowed"]
    assert flows[9090]["violations"] >= 1
    # The exported policies select the pods by the labels the containers really carry.
    policies = yaml.safe_load(admin.get("/api/v1/networkpolicies").text)["items"]
    for document in policies:
        kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)
    by_name = {p["metadata"]["name"]: p["spec"] for p in policies}
    web_spec, client_spec = by_name[f"stockade-{web_group}"], by_name[f"stockade-{client_group}"]
    carried = {n: podman.cmd("inspect", "--format", "{{json .Config.Labels}}", n).stdout
               for n in names.values()}  # fmt: skip
    for spec, name in ((web_spec, names["web"]), (client_spec, names["client"])):
        labels = spec["podSelector"]["matchLabels"]
        assert labels, spec
        assert labels.items() <= json.loads(carried[name]).items(), (labels, carried[name])
    assert web_spec["ingress"] == [
        {
            "from": [{"namespaceSelector": {}, "podSelector": client_spec["podSelector"]}],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]
