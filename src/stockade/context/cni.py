"""A container's CNI result (Falco's container.cni.json), read from libcni's result cache.

Podman with its CNI network backend, and containerd and CRI-O for pods, keep each
attachment's result in `/var/lib/cni/results/<network>-<container or sandbox id>-<ifname>`.
The result is given the way Falco's CRI engine gives containerd's: compact JSON keyed by
the interface name inside the container, each with its addresses (`IPConfigs`: `IP` and
`Gateway`), `Mac` and `Sandbox` (the network namespace). Podman's netavark backend keeps
no such cache: podman's own adapter reads its answer from podman's state (`netstatus.py`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RESULTS_DIR = Path("/var/lib/cni/results")


def cni_json(ids: Iterable[str], results_dir: Path = RESULTS_DIR) -> str:
    """The CNI result of the first of `ids` (a container id, then its pod sandbox's)
    with cached results, as compact JSON; "" when none has any."""
    for container_id in ids:
        if not container_id:
            continue
        interfaces: dict[str, Any] = {}
        for path in sorted(results_dir.glob(f"*-{container_id}-*")):
            interfaces.update(_interfaces(_result(path)))
        if interfaces:
            return json.dumps(interfaces, separators=(",", ":"), sort_keys=True)
    return ""


def _result(path: Path) -> dict[str, Any]:
    """The `result` object of one cache file ({} when unreadable)."""
    try:
        cached = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    result = cached.get("result") if isinstance(cached, dict) else None
    return result if isinstance(result, dict) else {}


def _interfaces(result: dict[str, Any]) -> dict[str, Any]:
    """The container-side interfaces of one CNI result (those in a sandbox), by name."""
    listed = [i if isinstance(i, dict) else {} for i in result.get("interfaces") or []]
    found: dict[str, Any] = {}
    for ip in result.get("ips") or []:
        if not isinstance(ip, dict) or not isinstance(ip.get("interface"), int):
            continue
        index = ip["interface"]
        iface = listed[index] if 0 <= index < len(listed) else {}
        if not iface.get("sandbox") or not iface.get("name"):
            continue
        entry = found.setdefault(
            str(iface["name"]),
            {"IPConfigs": [], "Mac": str(iface.get("mac", "")), "Sandbox": str(iface["sandbox"])},
        )
        config = {"IP": str(ip.get("address", "")).partition("/")[0]}
        if ip.get("gateway"):
            config["Gateway"] = str(ip["gateway"])
        entry["IPConfigs"].append(config)
    return found
