"""Which container an event came from, by cgroup id, cached per cgroup.

A cgroup id (what eBPF's bpf_get_current_cgroup_id() and the proc connector give) is the
inode of a cgroup v2 directory; the directory's path names the container for every
runtime. Metadata that is not written yet is never replaced by a silent placeholder: the
answer carries `complete=False` and the next lookup after `retry_s` asks the runtime again.
A complete answer that still lacks fields and says why (`unresolvable` with an
`unresolvable_reason`: a source could not be asked, or did not know a name) is asked again
every `refresh_s`, so what the runtime could not say at first is filled in once it can.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from stockade.context.cni import cni_json
from stockade.context.runtime import ContainerRuntime
from stockade.model import Container
from stockade.sensor import procfs, procstate

UNKNOWN_CONTAINER_ID = "unknown"
"""container.id when a cgroup vanished before it could be attributed (never "host")."""


class CgroupIndex:
    """Maps cgroup ids to cgroup v2 paths, walking the hierarchy on a miss."""

    def __init__(self, root: Path | None = None, min_walk_interval_s: float = 0.05) -> None:
        self._root = root if root is not None else procfs.cgroup2_root()
        self._paths: dict[int, str] = {}
        self._min_interval = min_walk_interval_s
        self._last_walk = -1e9

    def learn(self, cgroup_id: int, path: str) -> None:
        """Remember a path seen elsewhere (e.g. in /proc/PID/cgroup)."""
        self._paths[cgroup_id] = path

    def known(self, cgroup_id: int) -> str | None:
        """The path if already known, without walking."""
        return self._paths.get(cgroup_id)

    def path(self, cgroup_id: int) -> str | None:
        """The path of a cgroup id; None if it does not exist (any more)."""
        found = self._paths.get(cgroup_id)
        if found is None and time.monotonic() - self._last_walk >= self._min_interval:
            self._walk()
            found = self._paths.get(cgroup_id)
        return found

    def _walk(self) -> None:
        self._last_walk = time.monotonic()
        if self._root is None:
            return
        root = str(self._root)
        fresh: dict[int, str] = {os.stat(root).st_ino: "/"}
        for dirpath, dirnames, _ in os.walk(root):
            for name in dirnames:
                full = os.path.join(dirpath, name)
                try:
                    fresh[os.stat(full).st_ino] = full[len(root) :]
                except OSError:
                    continue
        self._paths = fresh


def with_ip(container: Container) -> Container:
    """The container with its primary IPv4 address, read from its init's network namespace
    (every runtime alike; the host's network has no address of the container's own)."""
    if container.ip or not container.pid or container.network_mode == "host":
        return container
    ip = procstate.read_ipv4(container.pid)
    return msgspec.structs.replace(container, ip=ip) if ip else container


def with_cni(container: Container) -> Container:
    """The container with its CNI result, by its own id or its pod sandbox's (every runtime
    alike: libcni's cache is keyed so for podman, containerd and CRI-O)."""
    if container.cni_json or container.network_mode == "host":
        return container
    found = cni_json((container.id, container.pod_sandbox_id))
    return msgspec.structs.replace(container, cni_json=found) if found else container


class ContainerResolver:
    """Describes the container behind a cgroup id or pid, asking each runtime adapter."""

    def __init__(
        self,
        runtimes: Sequence[ContainerRuntime],
        cgroups: CgroupIndex | None = None,
        retry_s: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        refresh_s: float = 30.0,
    ) -> None:
        self._runtimes = tuple(runtimes)
        self._cgroups = cgroups if cgroups is not None else CgroupIndex()
        self._retry_s = retry_s
        self._refresh_s = refresh_s
        self._clock = clock
        self._cache: dict[int, tuple[Container, float]] = {}
        self.version = 0  # bumped whenever a cached answer is dropped or replaced

    def for_pid(self, pid: int) -> Container:
        """The container of a live process (host when it is in no container)."""
        path = procfs.cgroup_path(pid)
        if path is None:
            return Container(id=UNKNOWN_CONTAINER_ID, name="<NA>", complete=False)
        cgroup_id = procfs.cgroup_id_of_path(path)
        self._cgroups.learn(cgroup_id, path)
        return self.for_cgroup(cgroup_id)

    def for_cgroup(self, cgroup_id: int, pid: int = 0) -> Container:
        """The container whose cgroup has this id; cached until complete.

        `pid`, a process seen in that cgroup, lets a cgroup not yet in the index be
        found through /proc/PID/cgroup instead of a walk of the hierarchy.
        """
        cached = self._cache.get(cgroup_id)
        if cached is not None and cached[0].complete and not cached[0].unresolvable_reason:
            return cached[0]
        now = self._clock()
        if cached is not None and now - cached[1] < (
            self._refresh_s if cached[0].complete else self._retry_s
        ):
            return cached[0]
        if pid and self._cgroups.known(cgroup_id) is None:
            path = procfs.cgroup_path(pid)
            if path is not None and procfs.cgroup_id_of_path(path) == cgroup_id:
                self._cgroups.learn(cgroup_id, path)
        container = self._resolve(cgroup_id)
        if len(self._cache) > 65_536:
            self._cache.clear()
            self.version += 1
        if cached is not None and cached[0].complete and container != cached[0]:
            self.version += 1  # a refreshed answer replaces one others may hold
        self._cache[cgroup_id] = (container, now)
        return container

    def forget(self, cgroup_id: int) -> None:
        """Drop a cached answer (e.g. when the runtime reports the container removed)."""
        self._cache.pop(cgroup_id, None)
        self.version += 1

    def _resolve(self, cgroup_id: int) -> Container:
        path = self._cgroups.path(cgroup_id)
        if path is None:
            return Container(
                id=UNKNOWN_CONTAINER_ID, name="<NA>", cgroup_id=cgroup_id, complete=False
            )
        for runtime in self._runtimes:
            container_id = runtime.container_id_for_cgroup(path)
            if container_id is None:
                continue
            found = runtime.describe(container_id, cgroup_id)
            if found is not None:
                return with_cni(with_ip(found))
            # The cgroup says "container" but the runtime has not written it down yet.
            return Container(
                id=container_id, runtime=runtime.id, cgroup_id=cgroup_id, complete=False
            )
        return Container.host()
