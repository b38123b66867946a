"""Flow discovery on real podman containers and the real kernel, from each source alone.

A web, a client and an "outside" container (its address belongs to no known group, so
it stands for an external peer) on a test network of their own. The client holds three
TCP connections to the web and two to the outside; the outside holds one connection to
the web (busybox's nc has no UDP: the protocol seen is TCP only). While that happens the
eBPF sensor runs.
Each source, on its own, must give the same group -> group, group -> external and
external -> group flows, with their ports, protocols and counts: the sensor's connect and
accept events, the host's conntrack table, and the containers' per-namespace socket tables.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest

from stockade.firewall.conntrack import read_conntrack, tracked_connections
from stockade.firewall.events import connection_of, from_a_container
from stockade.firewall.flows import EXTERNAL, GROUP, Connection, aggregate
from stockade.firewall.sockets import connections, listeners, read_sockets
from stockade.model import Event
from stockade.profiles.groups import GROUP_LABEL, group_id
from stockade.sensor.bpf import BpfSource
from tests.support.ci import require
from tests.support.podman import Podman
from tests.support.polling import poll_until
from tests.support.sensor import cgroup_inode, collect_until, resolve

pytestmark = [pytest.mark.root, pytest.mark.podman, pytest.mark.ebpf]
FlowTuple = tuple[str, str, str, str, int, str, int]  # src kind, src, dst kind, dst, port, proto, n


@dataclass(frozen=True)
class Scene:
    """The containers, their addresses and pids, and what the sensor saw meanwhile."""

    ids: dict[str, str]  # role -> container id
    pids: dict[str, int]
    addresses: dict[str, str]
    ports: dict[str, int]  # the web's and the outside's listening ports
    events: list[Event]

    @property
    def groups_by_address(self) -> dict[str, str]:
        """The known containers' addresses: the outside one is left out (external)."""
        return {self.addresses[r]: self.group(r) for r in ("web", "client")}

    def group(self, role: str) -> str:
        """The workload group of a role's container (as the agent resolves it)."""
        return group_id(resolve(cgroup_inode(self.ids[role])))

    def expected(self) -> set[FlowTuple]:
        """The flows every source must find."""
        web, client, outside = self.group("web"), self.group("client"), self.addresses["outside"]
        return {
            (GROUP, client, GROUP, web, self.ports["web"], "tcp", 3),
            (GROUP, client, EXTERNAL, outside, self.ports["outside"], "tcp", 2),
            (EXTERNAL, outside, GROUP, web, self.ports["web"], "tcp", 1),
        }


def _flows(found: list[Connection], ports: set[int]) -> set[FlowTuple]:
    return {
        (f.src_kind, f.src, f.dst_kind, f.dst, f.port, f.protocol, f.count)
        for f in aggregate(c for c in found if c.port in ports)
    }


def _inspect(podman: Podman, name: str) -> tuple[str, int, str]:
    fmt = "{{.Id}} {{.State.Pid}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    full_id, pid, address = podman.cmd("inspect", "--format", fmt, name).stdout.split()
    return full_id.decode(), int(pid), address.decode()


def _wait_listening(pid: int, port: int, role: str) -> None:
    def listening() -> bool:
        return ("tcp", port) in listeners(read_sockets(pid))

    poll_until(listening, 30, f"the {role} container to listen")


def _hold(podman: Podman, container: str, command: str) -> None:
    podman.cmd("exec", "-d", container, "sh", "-c", command)


@pytest.fixture(scope="module")
def scene(podman: Podman, busybox_image: str) -> Iterator[Scene]:
    """The three containers with their connections held open, seen by a running sensor."""
    require(Path("/proc/net/nf_conntrack").exists(), "no conntrack table on this host")
    network = f"stockade-disc-{uuid.uuid4().hex[:8]}"
    # ports of this run only: the host's conntrack may still hold an earlier run's entries
    first = random.Random(os.getpid() ^ uuid.uuid4().int).randrange(20000, 30000, 2)
    ports = {"web": first, "outside": first + 1}
    podman.cmd("network", "create", network)
    net = ("--network", network)
    started: list[str] = []
    source = BpfSource()
    try:
        web_serve = f"exec nc -ll -p {ports['web']} -e cat"
        outside_serve = f"exec nc -ll -p {ports['outside']} -e cat"
        for role, command, label in (
            ("web", web_serve, "disc-web"),
            ("client", "sleep 600", "disc-client"),
            ("outside", outside_serve, ""),
        ):
            extra = (*net, "--label", f"{GROUP_LABEL}={label}") if label else net
            started.append(podman.run_detached(busybox_image, "sh", "-c", command,
                                               name=f"{network}-{role}", extra=extra))  # fmt: skip
        roles = ("web", "client", "outside")
        found = {r: _inspect(podman, f"{network}-{r}") for r in roles}
        ids = {r: v[0] for r, v in found.items()}
        addresses = {r: v[2] for r, v in found.items()}
        pids = {r: v[1] for r, v in found.items()}
        for role in ("web", "outside"):  # listening: asked of its table, not by connecting
            _wait_listening(pids[role], ports[role], role)
        source.start()
        web, outside = addresses["web"], addresses["outside"]
        for _ in range(3):
            _hold(podman, ids["client"], f"sleep 120 | nc {web} {ports['web']}")
        for _ in range(2):
            _hold(podman, ids["client"], f"sleep 120 | nc {outside} {ports['outside']}")
        _hold(podman, ids["outside"], f"sleep 120 | nc {web} {ports['web']}")
        wanted = set(ports.values())
        events = collect_until(
            source,
            lambda kept: (
                sum(e.type == "connect" for e in kept) >= 6
                and sum(e.type != "connect" for e in kept) >= 4
            ),
            30,
            "the scene's connects and accepts",
            keep=lambda e: (
                e.type in ("connect", "accept", "accept4")
                and e.fd is not None
                and e.fd.dport in wanted
            ),
        )
        yield Scene(ids, pids, addresses, ports, events)
    finally:
        source.stop()
        if started:
            podman.cmd("rm", "-f", "-t", "0", *started, check=False)
        podman.cmd("network", "rm", "-f", network, check=False)


def test_flows_from_the_sensors_connect_and_accept_events(scene: Scene) -> None:
    known = {cgroup_inode(scene.ids[r]) for r in ("web", "client")}
    found: list[Connection] = []
    for raw in (e for e in scene.events if e.proc.cgroup_id in known):
        event = msgspec.structs.replace(raw, container=resolve(raw.proc.cgroup_id))
        made = connection_of(event, scene.groups_by_address) if from_a_container(event) else None
        if made is not None:
            found.append(made[0])
    assert _flows(found, set(scene.ports.values())) == scene.expected()


def test_flows_from_the_hosts_conntrack_table(scene: Scene) -> None:
    found = tracked_connections(read_conntrack(), scene.groups_by_address)
    assert _flows(found, set(scene.ports.values())) == scene.expected()


def test_flows_from_each_containers_socket_table(scene: Scene) -> None:
    found: list[Connection] = []
    for role in ("web", "client"):  # the outside one is no known container: not read
        table = read_sockets(scene.pids[role])
        found += connections(scene.group(role), table, scene.groups_by_address)
    assert _flows(found, set(scene.ports.values())) == scene.expected()
