"""DockerRuntime reads dockerd's state files (laid out here as Docker 28 writes them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stockade.context.docker import DockerRuntime
from stockade.model.entities import Mount

CID = "4f1c2b3a" * 8
IMAGE_ID = "sha256:" + "ab" * 32
DIGEST = "sha256:" + "cd" * 32


def _write(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


@pytest.fixture
def docker_root(tmp_path: Path) -> Path:
    base = tmp_path / "containers" / CID
    _write(
        base / "config.v2.json",
        {
            "ID": CID,
            "Name": "/web",
            "Image": IMAGE_ID,
            "Config": {
                "Image": "registry.local:5000/team/nginx:1.25",
                "Labels": {
                    "io.kubernetes.pod.name": "web-0",
                    "io.kubernetes.pod.namespace": "prod",
                },
            },
            "State": {"Running": True, "Pid": 4242, "StartedAt": "2026-11-28T08:00:01.5Z"},
            "MountPoints": {
                "/data": {
                    "Source": "/srv/data",
                    "Destination": "/data",
                    "RW": False,
                    "Propagation": "rprivate",
                }
            },
        },
    )
    _write(
        base / "hostconfig.json",
        {
            "Privileged": True,
            "CapAdd": ["SYS_ADMIN"],
            "CapDrop": ["NET_RAW"],
            "NetworkMode": "bridge",
        },
    )
    _write(
        tmp_path / "image" / "overlay2" / "repositories.json",
        {"Repositories": {"registry.local:5000/team/nginx": {
            "registry.local:5000/team/nginx:1.25": IMAGE_ID,
            f"registry.local:5000/team/nginx@{DIGEST}": IMAGE_ID,
        }}},
    )  # fmt: skip
    return tmp_path


@pytest.mark.parametrize(
    "path",
    [f"/docker/{CID}", f"/system.slice/docker-{CID}.scope", f"/kubepods/pod1/docker-{CID}.scope/x"],
    ids=["cgroupfs", "systemd", "nested"],
)
def test_container_id_from_cgroup(path: str) -> None:
    assert DockerRuntime(Path("/nonexistent")).container_id_for_cgroup(path) == CID


def test_podman_cgroups_are_not_docker() -> None:
    assert DockerRuntime().container_id_for_cgroup(f"/libpod_parent/libpod-{CID}") is None


def test_describe(docker_root: Path) -> None:
    c = DockerRuntime(docker_root).describe(CID, cgroup_id=77)
    assert c is not None and c.complete
    assert (c.id, c.short_id, c.name, c.runtime) == (CID, CID[:12], "web", "docker")
    assert (c.image_repository, c.image_tag) == ("registry.local:5000/team/nginx", "1.25")
    assert (c.image_id, c.image_digest) == (IMAGE_ID.removeprefix("sha256:"), DIGEST)
    assert c.privileged and "CAP_SYS_ADMIN" in c.cap_effective
    assert "CAP_NET_RAW" not in c.cap_effective
    assert c.mounts == (Mount(source="/srv/data", dest="/data", rw=False, propagation="rprivate"),)
    assert (c.pid, c.cgroup_id, c.start_ts) == (4242, 77, 1_795_852_801_500_000_000)
    assert (c.pod_name, c.pod_namespace) == ("web-0", "prod")


def test_unknown_container(docker_root: Path) -> None:
    assert DockerRuntime(docker_root).describe("0" * 64, cgroup_id=1) is None
