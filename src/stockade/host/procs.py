"""Processes on the host and their containers: what /proc says about each PID."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

# a 64-hex container id in a cgroup path (podman libpod-, docker, containerd, cri-o)
_CONTAINER_IN_CGROUP = re.compile(r"[/-]([0-9a-f]{64})(?:\.scope)?(?:/|$)")
PODMAN_CONTAINERS = "/var/lib/containers/storage/overlay-containers/containers.json"


@dataclass(frozen=True, slots=True)
class Proc:
    """What the inventory needs of one process."""

    pid: int
    ppid: int
    name: str
    uid: int
    gid: int
    euid: int
    egid: int
    start_ticks: int
    state: str
    container: str


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def container_of(cgroup_text: str) -> str:
    """The container id in a /proc/PID/cgroup text, or ""."""
    match = _CONTAINER_IN_CGROUP.search(cgroup_text)
    return match.group(1) if match else ""


def read_proc(pid: int, proc: Path = Path("/proc")) -> Proc | None:
    """One process from /proc/PID/stat and status; None when it is gone."""
    base = proc / str(pid)
    stat = _read(base / "stat")
    status = _read(base / "status")
    if not stat or not status:
        return None
    name = stat[stat.find("(") + 1 : stat.rfind(")")]
    fields = stat[stat.rfind(")") + 2 :].split()
    ids = {k: v.split() for k, _, v in (ln.partition(":") for ln in status.splitlines())}
    uids, gids = ids.get("Uid", ["-1"] * 4), ids.get("Gid", ["-1"] * 4)
    return Proc(
        pid=pid,
        ppid=int(fields[1]),
        name=name,
        uid=int(uids[0]),
        gid=int(gids[0]),
        euid=int(uids[1]),
        egid=int(gids[1]),
        start_ticks=int(fields[19]),
        state=fields[0],
        container=container_of(_read(base / "cgroup")),
    )


def pids(proc: Path = Path("/proc")) -> list[int]:
    """Every PID visible now."""
    return sorted(int(n) for n in os.listdir(proc) if n.isdigit())


def all_procs(proc: Path = Path("/proc")) -> list[Proc]:
    """Every process that is still there by the time it is read."""
    return [p for p in (read_proc(pid, proc) for pid in pids(proc)) if p is not None]


def image_names(root: Path = Path("/")) -> dict[str, str]:
    """Container id -> image name, from podman's storage (empty when there is none)."""
    try:
        entries = json.loads((root / PODMAN_CONTAINERS.lstrip("/")).read_text())
    except (OSError, ValueError):
        return {}
    names: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        try:
            meta = json.loads(entry.get("metadata") or "{}")
        except ValueError:
            meta = {}
        names[str(entry.get("id", ""))] = str(meta.get("image-name") or entry.get("image", ""))
    return names
