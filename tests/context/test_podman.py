"""PodmanRuntime and ContainerResolver against real podman containers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import pytest

from stockade.context import ContainerResolver, PendingContainers
from stockade.context.imageref import split_reference
from stockade.context.podman import PodmanRuntime, parse_time_ns
from stockade.context.resolver import CgroupIndex
from stockade.model import Container, Event, Process
from stockade.sensor import procfs
from tests.support.podman import Podman

STORAGE = Path("/var/lib/containers/storage")


def _init_pid(container_id: str) -> int:
    state = json.loads(Path(f"/run/runc/{container_id}/state.json").read_text())
    return int(state["init_process_pid"])


@pytest.mark.parametrize(
    ("ref", "parts"),
    [
        ("localhost/x:latest", ("localhost/x", "latest", "")),
        ("reg:5000/a/b:1.2", ("reg:5000/a/b", "1.2", "")),
        ("reg:5000/a/b", ("reg:5000/a/b", "", "")),
        ("a/b@sha256:00", ("a/b", "", "sha256:00")),
        ("a/b:1.0@sha256:00", ("a/b", "1.0", "sha256:00")),
    ],
    ids=["tag", "port-tag", "port-notag", "digest", "tag-and-digest"],
)
def test_split_reference(ref: str, parts: tuple[str, str, str]) -> None:
    assert split_reference(ref) == parts


def test_parse_time_ns() -> None:
    assert parse_time_ns("1970-01-01T00:00:01.5Z") == 1_500_000_000
    assert parse_time_ns("1970-01-01T01:00:01.000000001+01:00") == 1_000_000_001


@pytest.mark.podman
def test_resolves_a_running_container(podman: Podman, busybox_image: str) -> None:
    container_id = podman.run_detached(
        busybox_image,
        "sleep",
        "300",
        name="stockade-ctx-resolve",
        extra=("--label", "team=blue", "--cap-add", "NET_ADMIN"),
    )
    try:
        pid = _init_pid(container_id)
        cgroup_id = procfs.cgroup_id(pid)
        resolver = ContainerResolver([PodmanRuntime()])
        found = resolver.for_cgroup(cgroup_id)
        assert found.id == container_id and len(found.id) == 64
        assert found.complete
        assert found.name == "stockade-ctx-resolve"
        assert found.runtime == "podman"
        assert found.image == busybox_image
        assert (found.image_repository, found.image_tag) == split_reference(busybox_image)[:2]
        assert found.image_digest.startswith("sha256:") and found.image_id
        assert "CAP_NET_ADMIN" in found.cap_effective and not found.privileged
        assert found.labels.get("team") == "blue"
        assert found.network_mode == "bridge"
        assert (found.host_pid, found.host_ipc) == (False, False)
        assert found.ip.startswith("10.88.")  # podman's default bridge network
        assert found.pid == pid and found.cgroup_id == cgroup_id and found.start_ts > 0
        assert resolver.for_pid(pid) == found
        assert resolver.for_pid(1).is_host
    finally:
        podman.remove(container_id)


@pytest.mark.podman
def test_host_pid_and_ipc_namespaces_are_seen(podman: Podman, busybox_image: str) -> None:
    container_id = podman.run_detached(
        busybox_image, "sleep", "300", extra=("--pid", "host", "--ipc", "host")
    )
    try:
        found = ContainerResolver([PodmanRuntime()]).for_cgroup(
            procfs.cgroup_id(_init_pid(container_id))
        )
        assert found.id == container_id
        assert (found.host_pid, found.host_ipc) == (True, True)
    finally:
        podman.remove(container_id)


@pytest.mark.podman
def test_metadata_arriving_late_is_filled_in(
    podman: Podman, busybox_image: str, tmp_path: Path
) -> None:
    container_id = podman.run_detached(busybox_image, "sleep", "300", name="stockade-ctx-late")
    try:
        cgroup_id = procfs.cgroup_id(_init_pid(container_id))
        # A storage root where podman has not written this container down yet.
        storage = tmp_path / "storage"
        (storage / "overlay-containers").mkdir(parents=True)
        (storage / "overlay-containers" / "containers.json").write_text("[]")
        runtime = PodmanRuntime(storage_root=storage)
        resolver = ContainerResolver([runtime], CgroupIndex(), retry_s=0)
        early = resolver.for_cgroup(cgroup_id)
        assert early.id == container_id and not early.complete and early.runtime == "podman"
        now = [0.0]
        pending = PendingContainers(resolver, max_wait_s=5, clock=lambda: now[0])
        first = Event(type="execve", ts=1, proc=Process(pid=1, cgroup_id=cgroup_id))
        assert pending.push([msgspec.structs.replace(first, container=early)]) == []
        # containers.json arrives, then config.json and the image list.
        shutil.copy(
            STORAGE / "overlay-containers" / "containers.json",
            storage / "overlay-containers" / "containers.json",
        )
        partial = resolver.for_cgroup(cgroup_id)
        assert partial.name == "stockade-ctx-late" and not partial.complete
        shutil.copytree(
            STORAGE / "overlay-containers" / container_id,
            storage / "overlay-containers" / container_id,
            ignore=shutil.ignore_patterns("shm", "ctl", "attach", "winsz"),
        )
        shutil.copytree(
            STORAGE / "overlay-images",
            storage / "overlay-images",
            ignore=shutil.ignore_patterns("*=*"),
        )
        (released,) = pending.push([])  # the held event goes on once complete
        assert released.container.complete and released.container.name == "stockade-ctx-late"
        late = resolver.for_cgroup(cgroup_id)
        assert late.complete and late.image_digest.startswith("sha256:")
        assert resolver.for_cgroup(cgroup_id) is late  # complete answers are cached
    finally:
        podman.remove(container_id)


@pytest.mark.podman
def test_a_new_cgroup_is_found_through_the_pid_without_a_walk(
    podman: Podman, busybox_image: str
) -> None:
    index = CgroupIndex(min_walk_interval_s=3600)
    resolver = ContainerResolver([PodmanRuntime()], index, retry_s=0)
    assert resolver.for_cgroup(procfs.cgroup_id(1)).is_host  # the one walk allowed
    container_id = podman.run_detached(busybox_image, "sleep", "300", name="stockade-ctx-pid")
    try:
        pid = _init_pid(container_id)
        cgroup_id = procfs.cgroup_id(pid)
        assert resolver.for_cgroup(cgroup_id).id == "unknown"  # not in the index, no walk
        assert resolver.for_cgroup(cgroup_id, pid).id == container_id
    finally:
        podman.remove(container_id)


def test_pending_releases_at_the_deadline_still_marked_incomplete() -> None:
    now = [0.0]
    resolver = ContainerResolver([PodmanRuntime(storage_root=Path("/nonexistent"))])
    pending = PendingContainers(resolver, max_wait_s=1, clock=lambda: now[0])
    half = Container(id="ef" * 32, runtime="podman", complete=False)
    event = Event(type="execve", ts=1, proc=Process(pid=1), container=half)
    ready = Event(type="execve", ts=2, proc=Process(pid=2))
    assert pending.push([event, ready]) == [ready]
    assert len(pending) == 1
    now[0] = 1.5
    (late,) = pending.push([])
    assert late.container == half and not late.container.complete
