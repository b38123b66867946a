"""container.cni.json: libcni's result cache (podman's CNI backend, cache files) and podman's
state database (the netavark backend, on a store of its own)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.context import ContainerResolver
from stockade.context.cni import cni_json
from stockade.context.netstatus import cni_json_of_state
from stockade.context.podman import PodmanRuntime
from stockade.model import Container, Event, Process
from stockade.rules.fields import FIELDS
from stockade.sensor import procfs
from tests.support.ci import require
from tests.support.podman import Podman

# A subnet of the netavark store's own default network, apart from the host's CNI one.
NETAVARK_SUBNET = "10.89.7.0/24"


def _init_pid(container_id: str) -> int:
    state = json.loads(Path(f"/run/runc/{container_id}/state.json").read_text())
    return int(state["init_process_pid"])


def _field(container: Container, name: str) -> object:
    definition, arg = FIELDS.lookup(name, None)
    event = Event(type="openat", ts=1, proc=Process(pid=1), container=container)
    return definition.extractor(arg)(event)


@pytest.mark.podman
def test_a_bridged_container_has_its_cni_result(podman: Podman, busybox_image: str) -> None:
    bridged = podman.run_detached(busybox_image, "sleep", "300")
    isolated = podman.run_detached(busybox_image, "sleep", "300", extra=("--network", "none"))
    try:
        inspected = json.loads(podman.cmd("inspect", bridged).stdout)[0]
        ip = inspected["NetworkSettings"]["IPAddress"]
        mac = inspected["NetworkSettings"]["MacAddress"]
        resolver = ContainerResolver([PodmanRuntime()])
        found = resolver.for_cgroup(procfs.cgroup_id(_init_pid(bridged)))
        cni = json.loads(str(_field(found, "container.cni.json")))
        assert cni["eth0"]["IPConfigs"][0]["IP"] == ip == found.ip
        assert cni["eth0"]["IPConfigs"][0]["Gateway"] == "10.88.0.1"
        assert cni["eth0"]["Mac"] == mac and cni["eth0"]["Sandbox"]
        assert _field(found, "k8s.pod.cni.json") is None  # not a Kubernetes pod
        # the twin without a network: no CNI result
        alone = resolver.for_cgroup(procfs.cgroup_id(_init_pid(isolated)))
        assert alone.id == isolated and _field(alone, "container.cni.json") is None
    finally:
        podman.remove(bridged)
        podman.remove(isolated)


@pytest.fixture
def netavark_podman(podman: Podman, tmp_path: Path) -> Iterator[tuple[Podman, Path]]:
    """Podman on a store of its own with the netavark network backend (the host's
    default store and backend stay as they are); yields it and its store's root."""
    require(shutil.which("netavark") or Path("/usr/lib/podman/netavark").is_file(),
            "netavark is not installed")  # fmt: skip
    conf = tmp_path / "containers.conf"
    conf.write_text(
        "[network]\n"
        'network_backend = "netavark"\n'
        f'network_config_dir = "{tmp_path / "networks"}"\n'
        'default_network = "stockade-netavark"\n'
        f'default_subnet = "{NETAVARK_SUBNET}"\n'
    )
    root = tmp_path / "root"
    # podman refuses a run root path longer than 50 characters: not below tmp_path
    with tempfile.TemporaryDirectory(prefix="stockade-nv-", ignore_cleanup_errors=True) as run:
        store = ("--root", str(root), "--runroot", run)
        client = Podman(store, env={**os.environ, "CONTAINERS_CONF": str(conf)})
        yield client, root
        client.remove_started()
        # containers/storage bind-mounts its overlay directory onto itself and leaves it so
        if (root / "overlay").is_mount():
            subprocess.run(["umount", "--lazy", str(root / "overlay")], check=False)


@pytest.mark.podman
def test_a_netavark_container_has_its_network_status(
    netavark_podman: tuple[Podman, Path], tmp_path: Path
) -> None:
    podman, root = netavark_podman
    assert podman.cmd("info", "--format", "{{.Host.NetworkBackend}}").stdout.strip() == b"netavark"
    image = podman.build_busybox_image(tmp_path)
    bridged = podman.run_detached(image, "sleep", "300")
    isolated = podman.run_detached(image, "sleep", "300", extra=("--network", "none"))
    settings = json.loads(podman.cmd("inspect", bridged).stdout)[0]["NetworkSettings"]
    resolver = ContainerResolver([PodmanRuntime(storage_root=root)])
    found = resolver.for_cgroup(procfs.cgroup_id(_init_pid(bridged)))
    cni = json.loads(str(_field(found, "container.cni.json")))
    assert cni == {
        "eth0": {
            "IPConfigs": [{"IP": settings["IPAddress"], "Gateway": settings["Gateway"]}],
            "Mac": settings["MacAddress"],
            "Sandbox": settings["SandboxKey"],
        }
    }
    assert found.ip == settings["IPAddress"] and settings["Gateway"] == "10.89.7.1"
    # the twin without a network: no network status
    alone = resolver.for_cgroup(procfs.cgroup_id(_init_pid(isolated)))
    assert alone.id == isolated and _field(alone, "container.cni.json") is None


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (b"", ""),
        (b"{not json", ""),
        (b'{"state":3}', ""),  # not started: no network status yet
        (
            b'{"networkStatus":{"a":{"interfaces":{"eth0":{"mac_address":"m0","subnets":['
            b'{"ipnet":"10.1.0.2/24","gateway":"10.1.0.1"},{"ipnet":"fd00::2/64"}]}}},'
            b'"b":{"interfaces":{"eth1":{"mac_address":"m1","subnets":[{"ipnet":"10.2.0.2/24"}]}}}}}',
            '{"eth0":{"IPConfigs":[{"Gateway":"10.1.0.1","IP":"10.1.0.2"},{"IP":"fd00::2"}],'
            '"Mac":"m0","Sandbox":"/run/netns/x"},'
            '"eth1":{"IPConfigs":[{"IP":"10.2.0.2"}],"Mac":"m1","Sandbox":"/run/netns/x"}}',
        ),
    ],
    ids=["empty", "broken", "not-started", "two-networks"],
)
def test_network_status_in_the_cni_shape(state: bytes, expected: str) -> None:
    assert cni_json_of_state(state, "/run/netns/x") == expected


def test_results_are_keyed_by_the_container_interface(tmp_path: Path) -> None:
    sandbox = "b" * 64
    result = {
        "kind": "cniCacheV1",
        "result": {
            "interfaces": [
                {"name": "cni0", "mac": "aa"},  # the host side: not the container's
                {"name": "eth0", "mac": "bb", "sandbox": "/var/run/netns/x"},
            ],
            "ips": [
                {"address": "10.244.0.7/24", "gateway": "10.244.0.1", "interface": 1},
                {"address": "fd00::7/64", "interface": 1},
                {"address": "10.0.0.1/24", "interface": 0},
            ],
        },
    }
    (tmp_path / f"k8s-pod-network-{sandbox}-eth0").write_text(json.dumps(result))
    (tmp_path / f"broken-{sandbox}-eth1").write_text("{not json")
    found = json.loads(cni_json(("c" * 64, sandbox), tmp_path))  # by the pod's sandbox
    assert found == {
        "eth0": {
            "IPConfigs": [{"IP": "10.244.0.7", "Gateway": "10.244.0.1"}, {"IP": "fd00::7"}],
            "Mac": "bb",
            "Sandbox": "/var/run/netns/x",
        }
    }
    assert cni_json(("d" * 64, ""), tmp_path) == ""
