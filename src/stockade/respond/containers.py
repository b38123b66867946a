"""Finding a running container on this host: its init process and its cgroup directories.

Read from the runtime's state (`/run/runc/<id>/state.json`, `/run/crun/<id>/status`) and
/proc alone, so every runtime that puts a container in its own cgroup works the same way.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from stockade.respond.errors import TargetError

RUNTIME_STATE_DIRS = (Path("/run/runc"), Path("/run/crun"), Path("/run/containerd/runc/k8s.io"))
_HEX_ID = re.compile(r"^[0-9a-f]{6,64}$")


@dataclass(frozen=True, slots=True)
class LocatedContainer:
    """A running container: its full id, its init process and its cgroup directories."""

    id: str
    pid: int  # the container's init process, as the host sees it
    cgroup_v2: Path | None  # its directory in the unified hierarchy
    freezer_v1: Path | None  # its directory under the v1 freezer, where one is mounted

    @property
    def root(self) -> Path:
        """The container's root filesystem, seen through its init process."""
        return Path(f"/proc/{self.pid}/root")

    @property
    def netns(self) -> Path:
        """The container's network namespace."""
        return Path(f"/proc/{self.pid}/ns/net")


def locate(container_id: str, proc: Path = Path("/proc")) -> LocatedContainer:
    """The running container with this id (or unique prefix); TargetError if none runs."""
    wanted = container_id.strip().lower()
    if not _HEX_ID.match(wanted):
        raise TargetError(f"container id {container_id!r} is not 6-64 hex digits")
    full_id, pid = _from_runtime_state(wanted) or _from_proc(wanted, proc)
    v2, freezer = cgroup_dirs(pid, proc)
    return LocatedContainer(id=full_id, pid=pid, cgroup_v2=v2, freezer_v1=freezer)


def _from_runtime_state(wanted: str) -> tuple[str, int] | None:
    for state_dir in RUNTIME_STATE_DIRS:
        try:
            names = [n for n in os.listdir(state_dir) if n.startswith(wanted)]
        except OSError:
            continue
        for name in names:
            for state_file in ("state.json", "status"):
                try:
                    state = json.loads((state_dir / name / state_file).read_text())
                except (OSError, ValueError):
                    continue
                pid = state.get("init_process_pid") or state.get("pid")
                if isinstance(pid, int) and pid > 0 and Path(f"/proc/{pid}").exists():
                    return name, pid
    return None


def _from_proc(wanted: str, proc: Path) -> tuple[str, int]:
    """The lowest pid whose cgroup path names the id (the runtime's dirs hold no state)."""
    pattern = re.compile(rf"([0-9a-f]*{wanted}[0-9a-f]*)")
    for entry in sorted((p for p in proc.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)):
        try:
            text = (entry / "cgroup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            found = pattern.search(line.rsplit(":", 1)[-1])
            if found and len(found.group(1)) == 64 and found.group(1).startswith(wanted):
                return found.group(1), int(entry.name)
    raise TargetError(f"no running container {wanted} on this host")


def cgroup_dirs(pid: int, proc: Path = Path("/proc")) -> tuple[Path | None, Path | None]:
    """The v2 and v1-freezer cgroup directories of a process (None where not mounted)."""
    try:
        lines = (proc / str(pid) / "cgroup").read_text().splitlines()
    except OSError as e:
        raise TargetError(f"process {pid} is gone: {e.strerror}") from e
    mounts = _cgroup_mounts(proc)
    v2 = freezer = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "" and "cgroup2" in mounts:
            v2 = Path(mounts["cgroup2"] + path)
        elif "freezer" in controllers.split(",") and "freezer" in mounts:
            freezer = Path(mounts["freezer"] + path)
    return v2, freezer


def _cgroup_mounts(proc: Path) -> dict[str, str]:
    """Mount points of the unified hierarchy ("cgroup2") and of v1 controllers, by name."""
    found: dict[str, str] = {}
    for line in (proc / "self" / "mountinfo").read_text().splitlines():
        head, _, tail = line.partition(" - ")
        fstype, _, options = tail.split(" ", 2)
        mount_point = head.split(" ")[4]
        if fstype == "cgroup2":
            found.setdefault("cgroup2", mount_point)
        elif fstype == "cgroup":
            for option in options.split(","):
                found.setdefault(option, mount_point)
    return found
