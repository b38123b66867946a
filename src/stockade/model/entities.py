"""Entities that events point at: the host and the container an event came from."""

from __future__ import annotations

from typing import NewType

import msgspec

HostId = NewType("HostId", str)
ContainerId = NewType("ContainerId", str)

HOST_CONTAINER_ID = ContainerId("host")
"""Falco's `container.id` for activity outside any container."""


class Mount(msgspec.Struct, frozen=True, gc=False):
    """One mount of a container (Falco's container.mount.*)."""

    source: str
    dest: str
    mode: str = ""
    rw: bool = True
    propagation: str = ""


class Container(msgspec.Struct, frozen=True, kw_only=True):
    """A container as the runtime describes it; field names follow Falco's container.*.

    `id` is the full 64-hex id (Falco's container.full_id); `short_id` gives the 12-char
    form Falco calls container.id. Host activity uses `Container.host()`.
    """

    id: str
    name: str = ""
    runtime: str = ""  # podman | buildah (a build step) | docker | containerd | cri-o | host
    image: str = ""  # image reference as started: repository[:tag]
    image_repository: str = ""
    image_tag: str = ""
    image_id: str = ""
    image_digest: str = ""  # sha256:... of the manifest when the runtime knows it
    privileged: bool = False
    cap_effective: tuple[str, ...] = ()
    mounts: tuple[Mount, ...] = ()
    network_mode: str = ""
    ip: str = ""  # primary IPv4 address, read from its network namespace (container.ip)
    cni_json: str = ""  # its CNI result by interface, compact JSON (container.cni.json)
    host_pid: bool = False  # shares the host's pid namespace (container.host_pid)
    host_ipc: bool = False  # shares the host's IPC namespace (container.host_ipc)
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    pid: int = 0  # the container's init process on the host
    cgroup_id: int = 0
    start_ts: int = 0  # ns since epoch
    pod_name: str = ""
    pod_namespace: str = ""
    pod_uid: str = ""
    pod_sandbox_id: str = ""  # full id of the pod's sandbox (its own id for the sandbox)
    pod_labels: dict[str, str] = msgspec.field(default_factory=dict)
    complete: bool = True  # False while metadata is still being resolved
    # Fields the runtime keeps only where it cannot be read (left empty, never guessed).
    unresolvable: tuple[str, ...] = ()
    unresolvable_reason: str = ""  # why those fields could not be read, when known

    @property
    def short_id(self) -> str:
        """The 12-character id Falco prints as container.id."""
        return self.id if self.id == HOST_CONTAINER_ID else self.id[:12]

    @property
    def is_host(self) -> bool:
        """True for activity outside any container."""
        return self.id == HOST_CONTAINER_ID

    @staticmethod
    def host() -> Container:
        """The pseudo-container standing for the host itself."""
        return _HOST


_HOST = Container(id=HOST_CONTAINER_ID, name="host", runtime="host")


class Host(msgspec.Struct, frozen=True, kw_only=True):
    """A machine running an agent."""

    id: str
    hostname: str
    kernel: str = ""
    os: str = ""
    boot_id: str = ""
