"""isolate_host / release_host in a network namespace the test creates (it stands for the host)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stockade.model.actions import ActionStatus, ActionTarget
from stockade.respond import nftables
from stockade.respond.base import ActionContext, perform
from stockade.respond.hostnet import platform_peers
from tests.support.ci import require

pytestmark = [pytest.mark.root]
PROBE = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)"
KEEP_RULES = {
    "nftables": [
        {"add": {"table": {"family": "inet", "name": "keepme"}}},
        {"add": {"chain": {"family": "inet", "table": "keepme", "name": "c"}}},
        {
            "add": {
                "rule": {
                    "family": "inet",
                    "table": "keepme",
                    "chain": "c",
                    "expr": [{"counter": None}],
                }
            }
        },
    ]
}


@dataclass(frozen=True)
class FakeHost:
    """A network namespace wired by a veth pair to addresses the test listens on."""

    name: str
    netns: Path
    subnet: str  # "10.231.N"

    def reaches(self, address: str, port: int) -> bool:
        """True when a TCP connect from inside the namespace succeeds."""
        argv = ["ip", "netns", "exec", self.name, sys.executable, "-c", PROBE, address, str(port)]
        return subprocess.run(argv, capture_output=True, timeout=20, check=False).returncode == 0


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


@pytest.fixture
def fake_host() -> Iterator[FakeHost]:
    """A fresh netns `stkiso<pid>` at .2 of its subnet; the root side holds .1, .3 and .4."""
    require(os.geteuid() == 0, "host isolation needs root")
    require(shutil.which("nft") and shutil.which("ip"), "host isolation needs nft and ip")
    tag = os.getpid() % 100000
    name, outer, inner, subnet = f"stkiso{tag}", f"stkva{tag}", f"stkvb{tag}", f"10.231.{tag % 250}"
    _ip("netns", "add", name)
    try:
        _ip("link", "add", outer, "type", "veth", "peer", "name", inner, "netns", name)
        for last in (1, 3, 4):
            _ip("addr", "add", f"{subnet}.{last}/24", "dev", outer)
        _ip("link", "set", outer, "up")
        _ip("-n", name, "addr", "add", f"{subnet}.2/24", "dev", inner)
        _ip("-n", name, "link", "set", inner, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        yield FakeHost(name, Path(f"/run/netns/{name}"), subnet)
    finally:
        subprocess.run(["ip", "link", "del", outer], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def _listener() -> socket.socket:
    """A TCP socket listening on every address of the root namespace (connects need no accept)."""
    sock = socket.create_server(("0.0.0.0", 0), backlog=64)
    return sock


def test_isolate_host_keeps_platform_and_allowed_peer_and_release_restores_rules(
    fake_host: FakeHost, tmp_path: Path
) -> None:
    """Only the platform's port and the allowed peer answer; release gives back the same rules."""
    with _listener() as service, _listener() as platform:
        port, platform_port = service.getsockname()[1], platform.getsockname()[1]
        allowed, other, platform_ip = (f"{fake_host.subnet}.{n}" for n in (1, 3, 4))
        nftables.apply(fake_host.netns, KEEP_RULES)
        before = nftables.list_ruleset(fake_host.netns)
        assert fake_host.reaches(other, port) and fake_host.reaches(platform_ip, port)

        context = ActionContext(
            tmp_path / "respond",
            platform_url=f"https://{platform_ip}:{platform_port}",
            host_netns=fake_host.netns,
        )
        result = perform("isolate_host", ActionTarget(allow=(allowed,)), context)
        assert result.status is ActionStatus.DONE, result.error
        assert fake_host.reaches(allowed, port)
        assert fake_host.reaches(platform_ip, platform_port)
        assert not fake_host.reaches(other, port)
        assert not fake_host.reaches(platform_ip, port)  # the platform's address, another port
        again = perform("isolate_host", ActionTarget(), context)
        assert "already" in again.detail

        released = perform("release_host", ActionTarget(), context)
        assert released.status is ActionStatus.DONE, released.error
        after = nftables.list_ruleset(fake_host.netns)
        assert nftables.without_metainfo(after) == nftables.without_metainfo(before)
        assert fake_host.reaches(other, port)


def test_release_host_when_not_isolated_fails_in_one_line(
    fake_host: FakeHost, tmp_path: Path
) -> None:
    """Releasing a host that is not isolated is a failed action with a one-line error."""
    context = ActionContext(tmp_path / "respond", host_netns=fake_host.netns)
    result = perform("release_host", ActionTarget(), context)
    assert result.status is ActionStatus.FAILED
    assert result.error == "the host is not isolated"


def test_platform_peers_come_from_the_url() -> None:
    """The platform URL's address and port (the scheme's port when none is given)."""
    assert platform_peers("https://127.0.0.1:8443") == (("127.0.0.1", 8443),)
    assert platform_peers("https://127.0.0.1") == (("127.0.0.1", 443),)
    assert platform_peers("") == ()
