"""Reading an OCI runtime spec: which namespaces a container shares with the host."""

from __future__ import annotations

import pytest

from stockade.context.ocispec import oci_shares_host

OWN = {"linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "network"}]}}
POD = {"linux": {"namespaces": [{"type": "pid"}, {"type": "ipc", "path": "/proc/7/ns/ipc"}]}}
HOST_PID = {"linux": {"namespaces": [{"type": "ipc"}, {"type": "mount"}]}}


@pytest.mark.parametrize(
    ("spec", "kind", "shared"),
    [
        (OWN, "pid", False),
        (OWN, "ipc", False),
        (POD, "ipc", False),  # joins the pod's namespace, not the host's
        (HOST_PID, "pid", True),
        (HOST_PID, "ipc", False),
        ({}, "pid", False),  # no spec read: nothing is claimed
    ],
)
def test_oci_shares_host(spec: dict[str, object], kind: str, shared: bool) -> None:
    assert oci_shares_host(spec, kind) is shared
