"""A podman container's network status as Falco's container.cni.json.

Podman asks its network backend (netavark, or CNI plugins) to set up a container's
networks and keeps the answer, a status block per network (`interfaces` by name, each
with `subnets` (`ipnet`, `gateway`) and `mac_address`), in the container's state in
its bolt database (`libpod/bolt_state.db`: bucket `ctr`, the container's bucket, keys
`state` and `netns`). Netavark keeps no result cache of its own, unlike libcni (see
`cni.py`), so this is where its answer lives. It is given in the shape of the CNI case:
compact JSON keyed by the interface name inside the container, each with `IPConfigs`
(`IP`, `Gateway`), `Mac` and `Sandbox` (the network namespace).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stockade.context.boltdb import BoltError, BoltFile


class PodmanNetworkStatus:
    """Reads containers' network status from one podman state database."""

    def __init__(self, state_db: Path) -> None:
        self.path = state_db

    def cni_json(self, container_id: str) -> str:
        """The container's network status as container.cni.json; "" when it has none
        (no network, not started, or the database is missing or being rewritten).

        The database is read anew each time and not kept: it is asked once per new
        container, and holding a snapshot of it would add its size to the agent's memory.
        """
        key = container_id.encode()
        try:
            db = BoltFile.read(self.path)
            state, netns = db.get(b"ctr", key, b"state"), db.get(b"ctr", key, b"netns")
        except BoltError:
            return ""
        return cni_json_of_state(state, (netns or b"").decode(errors="replace"))


def cni_json_of_state(state: bytes | None, sandbox: str) -> str:
    """container.cni.json from a container's state (podman's JSON) and its netns path."""
    try:
        parsed = json.loads(state) if state else {}
    except ValueError:
        return ""
    networks = parsed.get("networkStatus") if isinstance(parsed, dict) else None
    found: dict[str, Any] = {}
    for network in (networks or {}).values() if isinstance(networks, dict) else ():
        interfaces = network.get("interfaces") if isinstance(network, dict) else None
        for name, iface in (interfaces or {}).items() if isinstance(interfaces, dict) else ():
            if isinstance(iface, dict):
                found[str(name)] = _interface(iface, sandbox)
    return json.dumps(found, separators=(",", ":"), sort_keys=True) if found else ""


def _interface(iface: dict[str, Any], sandbox: str) -> dict[str, Any]:
    """One interface in the CNI case's shape."""
    configs = []
    for subnet in iface.get("subnets") or []:
        if not isinstance(subnet, dict) or not subnet.get("ipnet"):
            continue
        config = {"IP": str(subnet["ipnet"]).partition("/")[0]}
        if subnet.get("gateway"):
            config["Gateway"] = str(subnet["gateway"])
        configs.append(config)
    return {"IPConfigs": configs, "Mac": str(iface.get("mac_address", "")), "Sandbox": sandbox}
