"""The containers running on this host, from the runtimes' state, listed cheaply every round.

The firewall lists them every round and at each container start. A runtime's state file
(`/run/runc/<id>/state.json`) holds the container's init pid and the whole OCI spec: tens
of kilobytes of JSON. It is parsed again only when its modification time changes; a pid
whose process is gone, or a state without one, is no running container. Looking up each
container's cgroup directories (`respond.containers.locate`, one mount table read per
container) is not needed for the pid, and with hundreds of containers it cost most of
the agent's CPU.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import msgspec

from stockade.context.resolver import UNKNOWN_CONTAINER_ID
from stockade.model import Container
from stockade.respond.containers import RUNTIME_STATE_DIRS

STATE_FILES = ("state.json", "status")  # runc, crun


def _init_pid(state_file: Path) -> int:
    """The init pid a runtime's state file names; 0 if it names none or cannot be read."""
    try:
        state = json.loads(state_file.read_bytes())
    except (OSError, ValueError):
        return 0
    pid = (state.get("init_process_pid") or state.get("pid")) if isinstance(state, dict) else 0
    return pid if isinstance(pid, int) and pid > 0 else 0


class PidResolver(Protocol):
    """What is asked of a resolver: the container a process is in (`ContainerResolver`)."""

    def for_pid(self, pid: int) -> Container:
        """The container process `pid` runs in."""
        ...


class RunningContainers:
    """Lists the running containers (with their init pid); not shared between threads."""

    def __init__(
        self, resolver: PidResolver, state_dirs: Sequence[Path] = RUNTIME_STATE_DIRS
    ) -> None:
        self._resolver = resolver
        self._state_dirs = tuple(state_dirs)
        self._pids: dict[Path, tuple[int, int]] = {}  # state file -> (mtime, init pid)

    def __call__(self) -> list[Container]:
        """The containers running now, by runtime state directory and name."""
        found: list[Container] = []
        seen: dict[Path, tuple[int, int]] = {}
        for state_dir in self._state_dirs:
            try:
                names = sorted(os.listdir(state_dir))
            except OSError:
                continue
            for name in names:
                pid = self._pid(state_dir / name, seen)
                if pid <= 0 or not os.path.exists(f"/proc/{pid}"):
                    continue  # stopped, or not a container's state
                container = self._resolver.for_pid(pid)
                if container.id != UNKNOWN_CONTAINER_ID and not container.is_host:
                    found.append(msgspec.structs.replace(container, pid=pid))
        self._pids = seen  # removed containers are forgotten
        return found

    def _pid(self, directory: Path, seen: dict[Path, tuple[int, int]]) -> int:
        """The init pid in the container's state file, parsed again only once it changed."""
        for name in STATE_FILES:
            state_file = directory / name
            try:
                mtime = state_file.stat().st_mtime_ns
            except OSError:
                continue
            known = self._pids.get(state_file)
            if known is None or known[0] != mtime:
                known = (mtime, _init_pid(state_file))
            seen[state_file] = known
            return known[1]
        return 0
