"""Running containers' root filesystems as the host sees them (overlay mounts).

Podman (containers/storage) mounts a container's root at `overlay/<layer>/merged`, and
`containers.json` names the container of each layer. Other runtimes' overlay roots are
kept under their mount point until a writer's cgroup names the container.
"""

from __future__ import annotations

import json
from pathlib import Path

CONTAINERS_JSON = Path("/var/lib/containers/storage/overlay-containers/containers.json")


def overlay_mounts(mountinfo: str) -> list[str]:
    """Mount points of overlay filesystems in a /proc/PID/mountinfo text."""
    found = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        if right.split(" ", 1)[0] == "overlay":
            found.append(left.split(" ")[4].replace("\\040", " "))
    return found


def podman_layers(containers_json: Path = CONTAINERS_JSON) -> dict[str, str]:
    """Layer id -> container id from containers/storage's record (empty if unreadable)."""
    try:
        records = json.loads(containers_json.read_text())
    except (OSError, ValueError):
        return {}
    return {r["layer"]: r["id"] for r in records if isinstance(r, dict) and "layer" in r}


def container_roots(
    mountinfo_path: Path = Path("/proc/self/mountinfo"),
    containers_json: Path = CONTAINERS_JSON,
) -> dict[str, str]:
    """Overlay mount point -> container id (the mount point itself when not known)."""
    try:
        mounts = overlay_mounts(mountinfo_path.read_text())
    except OSError:
        return {}
    layers = podman_layers(containers_json)
    roots = {}
    for mount in mounts:
        parts = mount.rstrip("/").split("/")
        layer = parts[-2] if len(parts) >= 2 and parts[-1] == "merged" else ""
        roots[mount] = layers.get(layer, mount)
    return roots
