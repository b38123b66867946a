"""container.cni.json from libcni's result cache: real podman containers, and cache files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stockade.context import ContainerResolver
from stockade.context.cni import cni_json
from stockade.context.podman import PodmanRuntime
from stockade.model import Container, Event, Process
from stockade.rules.fields import FIELDS
from stockade.sensor import procfs
from tests.support.podman import Podman


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
