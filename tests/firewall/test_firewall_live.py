"""The learned firewall on real podman containers: a web and a client on a test network."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.firewall.allowlist import Violations, learn
from stockade.firewall.enforce import Enforcer, Member
from stockade.firewall.flows import Connection, aggregate
from stockade.firewall.nftrules import has_protection
from stockade.firewall.sockets import connections, read_sockets
from stockade.model.entities import Container
from stockade.profiles.groups import GROUP_LABEL, group_id
from stockade.profiles.modes import GroupModes, Mode
from stockade.respond import nftables
from tests.support.ci import require
from tests.support.podman import Podman
from tests.support.polling import poll_until, poll_value

pytestmark = [pytest.mark.root, pytest.mark.podman]
# An echo server per port (one forked `cat` per connection), so a client holds its
# connection open as long as it keeps its own input open.
SERVE = "nc -ll -p 8080 -e cat & exec nc -ll -p 9090 -e cat"
WEB_GROUP = group_id(Container(id="w" * 64, labels={GROUP_LABEL: "fw-web"}))
CLIENT_GROUP = group_id(Container(id="c" * 64, labels={GROUP_LABEL: "fw-client"}))


@pytest.fixture
def test_network(podman: Podman) -> Iterator[str]:
    """A podman bridge network of the test's own, removed afterwards."""
    require(any(Path(d, "nft").exists() for d in os.environ["PATH"].split(":")), "nft missing")
    name = f"stockade-fw-{uuid.uuid4().hex[:8]}"
    podman.cmd("network", "create", name)
    yield name
    podman.remove_started()
    podman.cmd("network", "rm", "-f", name, check=False)


def _member(podman: Podman, container: str, group: str) -> Member:
    fmt = "{{.Id}} {{.State.Pid}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    full_id, pid, address = podman.cmd("inspect", "--format", fmt, container).stdout.split()
    return Member(full_id.decode(), group, int(pid), (address.decode(),))


def _reaches(podman: Podman, client: str, address: str, port: int) -> bool:
    out = podman.exec(client, "sh", "-c", f"echo pong | nc -w 2 {address} {port}", check=False)
    return out.startswith(b"pong")


def _observe(podman: Podman, client: Member, web: Member, port: int) -> list[Connection]:
    """Hold a connection from the client to web:port open and read it from the client's table."""
    by_address = {web.addresses[0]: web.group, client.addresses[0]: client.group}

    def seen() -> list[Connection]:
        podman.cmd("exec", "-d", client.container_id, "sh", "-c",
                   f"sleep 3 | nc -w 2 {web.addresses[0]} {port}")  # fmt: skip
        found = connections(client.group, read_sockets(client.pid), by_address)
        return [c for c in found if c.port == port]

    return poll_value(seen, bool, 30, f"the client's connection to port {port}")


def test_discover_monitor_protect_and_restart(
    podman: Podman, busybox_image: str, test_network: str
) -> None:
    net = ("--network", test_network)
    podman.run_detached(busybox_image, "sh", "-c", SERVE, name=f"{test_network}-web", extra=net)
    podman.run_detached(busybox_image, "sleep", "600", name=f"{test_network}-client", extra=net)
    web = _member(podman, f"{test_network}-web", WEB_GROUP)
    client = _member(podman, f"{test_network}-client", CLIENT_GROUP)
    poll_until(lambda: _reaches(podman, client.container_id, web.addresses[0], 8080), 30, "web")

    # Discover: the client -> web:8080 flow is learned.
    flows = aggregate(_observe(podman, client, web, 8080))
    assert [(f.src, f.dst, f.port, f.protocol) for f in flows] == [
        (CLIENT_GROUP, WEB_GROUP, 8080, "tcp")
    ]
    rules = learn(flows)

    # Monitor: a connection to a new port is one alert, however often it happens.
    violations = Violations()
    assert violations.new(rules, _observe(podman, client, web, 8080)) == []
    first = violations.new(rules, _observe(podman, client, web, 9090))
    assert [(c.src, c.dst, c.port) for c in first] == [(CLIENT_GROUP, WEB_GROUP, 9090)]
    assert violations.new(rules, _observe(podman, client, web, 9090)) == []

    assert _reaches(podman, client.container_id, web.addresses[0], 9090)  # open before protect

    # Protect: the learned connection works, the new port is refused or times out.
    modes = {
        WEB_GROUP: GroupModes(network=Mode.PROTECT),
        CLIENT_GROUP: GroupModes(network=Mode.PROTECT),
    }
    protected = {g for g, m in modes.items() if m.network == Mode.PROTECT}
    enforcer = Enforcer()
    result = enforcer.sync([web, client], rules, protected)
    assert sorted(result.applied) == sorted([web.container_id, client.container_id]), result
    assert _reaches(podman, client.container_id, web.addresses[0], 8080)
    assert not _reaches(podman, client.container_id, web.addresses[0], 9090)

    # A restarted web container gets its table again (a new netns) and the rules still hold.
    podman.cmd("restart", "-t", "0", web.container_id)
    web = _member(podman, web.container_id, WEB_GROUP)
    assert not has_protection(nftables.list_ruleset(web.netns))
    enforcer.sync([web, client], rules, protected)
    assert has_protection(nftables.list_ruleset(web.netns))
    poll_until(
        lambda: _reaches(podman, client.container_id, web.addresses[0], 8080), 30, "web again"
    )
    assert not _reaches(podman, client.container_id, web.addresses[0], 9090)
