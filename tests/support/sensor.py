"""Sensor test helpers: collect events until a match arrives; name a cgroup's container."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from stockade.context import ContainerResolver
from stockade.context.podman import PodmanRuntime
from stockade.model import Container, Event
from stockade.sensor.base import EventSource
from tests.support.polling import poll_until

CGROUP_V2 = Path("/sys/fs/cgroup/unified")
_LIBPOD = re.compile(r"libpod-([0-9a-f]{64})")
HOST_MOUNTS = ("-v", "/usr:/usr:ro", "-v", "/lib:/lib:ro", "-v", "/lib64:/lib64:ro")


class Collector:
    """Polls a source and keeps every event, so tests can wait for what they expect."""

    def __init__(self, source: EventSource, enrich: Callable[[Event], Event] | None = None) -> None:
        """`enrich`: what each event goes through before it is kept (a context stage's)."""
        self.source = source
        self.enrich = enrich
        self.events: list[Event] = []

    def wait_for(
        self, match: Callable[[Event], bool], timeout_s: float = 10.0, what: str = "an event"
    ) -> list[Event]:
        """Poll until at least one event matches and return the matches; fails at the deadline."""

        def found() -> list[Event]:
            polled = self.source.poll(0.05)
            self.events.extend(map(self.enrich, polled) if self.enrich else polled)
            return [e for e in self.events if match(e)]

        return poll_until(found, timeout_s, f"{what} from the sensor", interval=0)

    def first(
        self, match: Callable[[Event], bool], timeout_s: float = 10.0, what: str = "an event"
    ) -> Event:
        """The first kept event that matches (polling until the deadline)."""
        return self.wait_for(match, timeout_s, what)[0]


def collect_until(
    source: EventSource,
    done: Callable[[list[Event]], object],
    timeout: float,
    what: str,
    keep: Callable[[Event], bool] = lambda _: True,
) -> list[Event]:
    """Poll `source`, keeping the events `keep` accepts, until `done(kept)` holds; the kept
    events. Fails naming `what` at the deadline (a busy ring is never idle: no idle test)."""
    kept: list[Event] = []

    def finished() -> bool:
        kept.extend(e for e in source.poll(0.05) if keep(e))
        return bool(done(kept))

    poll_until(finished, timeout, what, interval=0)
    return kept


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
