"""What an OCI runtime spec (config.json) says about a container, read the same way for
every runtime that keeps one (podman, containerd, CRI-O)."""

from __future__ import annotations

from typing import Any


def oci_shares_host(spec: dict[str, Any], kind: str) -> bool:
    """Whether the spec leaves the container in the host's `kind` namespace (pid, ipc ...):
    a namespace the spec does not list is not created for it, so it is the host's."""
    namespaces = (spec.get("linux") or {}).get("namespaces") or []
    return bool(spec) and not any(ns.get("type") == kind for ns in namespaces)
