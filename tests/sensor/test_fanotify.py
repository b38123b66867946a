"""FanotifySource: writes on a container's overlay root, attributed to its cgroup."""

from __future__ import annotations

import os
import uuid

import pytest

from stockade.model import Event
from stockade.sensor.fanotify import FanotifySource, overlay_mounts
from tests.support.podman import Podman
from tests.support.polling import poll_until

MOUNTINFO = (
    "36 35 98:0 / /mnt1 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"
    "600 28 0:63 / /var/lib/containers/storage/overlay/abc/merged rw,nodev - overlay overlay"
    " rw,lowerdir=/l,upperdir=/u,workdir=/w\n"
    "601 28 0:64 / /run/a\\040b rw - overlay overlay rw\n"
)


def test_overlay_mounts_are_found() -> None:
    assert overlay_mounts(MOUNTINFO) == {
        "/var/lib/containers/storage/overlay/abc/merged",
        "/run/a b",
    }


@pytest.mark.root
@pytest.mark.podman
def test_writes_in_a_container(podman: Podman, busybox_image: str) -> None:
    source = FanotifySource()
    source.start()
    try:
        marked_before = source.marked
        container = podman.run_detached(busybox_image, "sleep", "600")
        cgroup = os.stat(f"/sys/fs/cgroup/unified/libpod_parent/libpod-{container}").st_ino
        # a poll rescans the mounts (at most every 0.5 s) and marks the container's overlay
        poll_until(
            lambda: source.poll(0.05) is not None and source.marked - marked_before,
            10,
            "the container's overlay mount to be marked",
        )
        path = f"/root/fanotify-{uuid.uuid4().hex[:10]}"
        podman.exec(container, "sh", "-c", f"echo x > {path}")
        events: list[Event] = []

        def closed() -> bool:
            events.extend(e for e in source.poll(0.1) if e.fd is not None and e.fd.name == path)
            return any(e.type == "close" for e in events)

        poll_until(closed, 10, f"the close of {path}", interval=0)
        assert {e.type for e in events} == {"write", "close"}
        assert {e.proc.cgroup_id for e in events} == {cgroup}
        assert source.stats().events_by_type["close"] >= 1
    finally:
        source.stop()
