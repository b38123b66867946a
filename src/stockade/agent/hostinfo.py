"""Who this machine is: a stable host id, hostname, kernel, OS and boot id."""

from __future__ import annotations

import os
import platform
import socket
import uuid
from pathlib import Path

from stockade.model import Host


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _os_name() -> str:
    for line in _read(Path("/etc/os-release")).splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip('"')
    return platform.system()


def host_id(state_dir: Path | None) -> str:
    """/etc/machine-id when there is one, else an id kept in the agent's state dir."""
    machine = _read(Path("/etc/machine-id"))
    if machine or state_dir is None:
        return machine
    stored = state_dir / "host_id"
    known = _read(stored)
    if known:
        return known
    fresh = uuid.uuid4().hex
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = stored.with_suffix(".tmp")
    tmp.write_text(fresh)
    os.replace(tmp, stored)
    return fresh


def this_host(state_dir: Path | None) -> Host:
    """The `Host` this agent runs on."""
    return Host(
        id=host_id(state_dir),
        hostname=socket.gethostname(),
        kernel=platform.release(),
        os=_os_name(),
        boot_id=_read(Path("/proc/sys/kernel/random/boot_id")),
    )
