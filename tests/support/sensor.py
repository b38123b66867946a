"""Sensor test helpers: collect events until a match arrives; name a cgroup's container."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from stockade.context import ContainerResolver
from stockade.context.podman import PodmanRuntime
from stockade.model import Container, Event
from stockade.sensor.bpf import BpfSource

CGROUP_V2 = Path("/sys/fs/cgroup/unified")
_LIBPOD = re.compile(r"libpod-([0-9a-f]{64})")
HOST_MOUNTS = ("-v", "/usr:/usr:ro", "-v", "/lib:/lib:ro", "-v", "/lib64:/lib64:ro")


class Collector:
    """Polls a source and keeps every event, so tests can wait for what they expect."""

    def __init__(self, source: BpfSource) -> None:
        self.source = source
        self.events: list[Event] = []

    def wait_for(self, match: Callable[[Event], bool], timeout_s: float = 10.0) -> list[Event]:
        """Poll until at least one event matches (or time runs out); returns the matches."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = [e for e in self.events if match(e)]
            if found or time.monotonic() > deadline:
                return found
            self.events.extend(self.source.poll(0.05))


def cgroup_inode(container_id: str) -> int:
    """The cgroup v2 id podman's container gets (the inode of its cgroup directory)."""
    return os.stat(CGROUP_V2 / "libpod_parent" / f"libpod-{container_id}").st_ino


def container_of(cgroup_id: int) -> str:
    """The 64-hex id of the podman container owning a cgroup id, else "host"."""
    for dirpath, dirnames, _ in os.walk(CGROUP_V2):
        for name in dirnames:
            full = os.path.join(dirpath, name)
            if os.stat(full).st_ino == cgroup_id:
                m = _LIBPOD.search(full)
                return m.group(1) if m else "host"
    return "host"


_RESOLVER = ContainerResolver([PodmanRuntime()])


def resolve(cgroup_id: int) -> Container:
    """The container the context stage's resolver names for a cgroup id."""
    return _RESOLVER.for_cgroup(cgroup_id)
