"""Docker containers described from dockerd's own state files, without its API.

Sources: `/var/lib/docker/containers/<id>/config.v2.json` (name, image as started, image
id, labels, init pid, start time, mounts), `hostconfig.json` (privileged, capabilities,
network mode) and `image/<driver>/repositories.json` (the image's repository digest).
Kubernetes pod metadata comes from the `io.kubernetes.*` labels the kubelet sets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stockade.context.imageref import split_reference
from stockade.context.podman import JsonFile, parse_time_ns
from stockade.context.runtime import RUNTIMES, ContainerRuntime
from stockade.model import Container
from stockade.model.entities import Mount

# cgroupfs driver: /docker/<id>; systemd driver: /system.slice/docker-<id>.scope
_CGROUP_RE = re.compile(r"(?:/docker/|/docker-)([0-9a-f]{64})(?:\.scope)?(?:/|$)")
_DEFAULT_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)  # fmt: skip


def _caps(host: dict[str, Any]) -> tuple[str, ...]:
    """Docker's default capability set with the container's --cap-add/--cap-drop applied."""

    def norm(c: str) -> str:
        return c if c.startswith("CAP_") else f"CAP_{c}"

    drop = {norm(c) for c in host.get("CapDrop") or []}
    if "CAP_ALL" in drop:
        return tuple(norm(c) for c in host.get("CapAdd") or [])
    caps = [c for c in _DEFAULT_CAPS if c not in drop]
    caps += [norm(c) for c in host.get("CapAdd") or [] if norm(c) not in caps]
    return tuple(caps)


def _mounts(config: dict[str, Any]) -> tuple[Mount, ...]:
    points = config.get("MountPoints") or {}
    return tuple(
        Mount(
            source=str(m.get("Source", "")),
            dest=str(m.get("Destination", dest)),
            mode=str(m.get("Mode", "")),
            rw=bool(m.get("RW", True)),
            propagation=str(m.get("Propagation", "")),
        )
        for dest, m in sorted(points.items())
        if isinstance(m, dict)
    )


class DockerRuntime(ContainerRuntime):
    """Docker Engine (dockerd with containerd and runc)."""

    id = "docker"

    def __init__(self, root: Path = Path("/var/lib/docker")) -> None:
        self._root = root
        self._repositories = [
            JsonFile(p) for p in sorted((root / "image").glob("*/repositories.json"))
        ]

    def unavailable_reason(self) -> str | None:
        """Docker is readable when its containers directory exists."""
        if not (self._root / "containers").is_dir():
            return f"no Docker state at {self._root / 'containers'}"
        return None

    def container_id_for_cgroup(self, cgroup_path: str) -> str | None:
        """The container id in a Docker cgroup path (cgroupfs or systemd driver)."""
        m = _CGROUP_RE.search(cgroup_path)
        return m.group(1) if m else None

    def describe(self, container_id: str, cgroup_id: int) -> Container | None:
        """Join config.v2.json, hostconfig.json and repositories.json of one container."""
        base = self._root / "containers" / container_id
        config = JsonFile(base / "config.v2.json").load()
        if not isinstance(config, dict):
            return None
        host = JsonFile(base / "hostconfig.json").load()
        host = host if isinstance(host, dict) else {}
        cfg = config.get("Config") or {}
        state = config.get("State") or {}
        labels = {str(k): str(v) for k, v in (cfg.get("Labels") or {}).items()}
        image_ref = str(cfg.get("Image", ""))
        image_id = str(config.get("Image", ""))
        repository, tag, _ = split_reference(image_ref)
        return Container(
            id=container_id,
            name=str(config.get("Name", "")).lstrip("/"),
            runtime=self.id,
            image=image_ref,
            image_repository=repository,
            image_tag=tag,
            image_id=image_id.partition(":")[2] or image_id,  # hex, as Falco shows it
            image_digest=self._digest(repository, image_id),
            privileged=bool(host.get("Privileged", False)),
            cap_effective=_caps(host),
            mounts=_mounts(config),
            network_mode=str(host.get("NetworkMode", "")),
            host_pid=host.get("PidMode") == "host",
            host_ipc=host.get("IpcMode") == "host",
            labels=labels,
            pid=int(state.get("Pid", 0) or 0),
            cgroup_id=cgroup_id,
            start_ts=parse_time_ns(str(state.get("StartedAt", ""))),
            pod_name=labels.get("io.kubernetes.pod.name", ""),
            pod_namespace=labels.get("io.kubernetes.pod.namespace", ""),
            pod_uid=labels.get("io.kubernetes.pod.uid", ""),
            complete=bool(host) and bool(image_id),
        )

    def _digest(self, repository: str, image_id: str) -> str:
        """The manifest digest recorded for this image id under its repository, if any."""
        for repos in self._repositories:
            data = repos.load()
            refs = (data or {}).get("Repositories", {}).get(repository, {})
            for ref, target in refs.items():
                if target == image_id and "@" in ref:
                    return str(ref.split("@", 1)[1])
        return ""


RUNTIMES.register(DockerRuntime.id, DockerRuntime)
