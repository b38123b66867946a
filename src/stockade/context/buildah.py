"""Image build steps (`buildah build`, `podman build`) as containers of type "buildah".

A RUN step runs in a runc container named `buildah-buildah<N>` (after its bundle
directory `/var/tmp/buildah<N>`), in the cgroup `/buildah-buildah<N>`: Falco's engines
know no such cgroup and report the step as the host. Here the step is a container: its
id and name are those of buildah's working container (containers/storage's
`containers.json`; the step's hostname is that id's first 12 characters, as buildah sets
it), its image the build's base image from the working container's `buildah.json`
(image, image id, digest), its init pid and start from runc's state, its capabilities
and shared host namespaces from the bundle's OCI spec. While the working container is
not found, the step is named by its runc id and marked incomplete.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stockade.context.imageref import split_reference
from stockade.context.ocispec import oci_shares_host
from stockade.context.podman import JsonFile, parse_time_ns
from stockade.context.runtime import RUNTIMES, ContainerRuntime
from stockade.model import Container

_CGROUP_RE = re.compile(r"/(buildah-buildah\d+)(?:\.scope)?(?:/|$)")
_BUNDLE_LABEL = "bundle="


class BuildahRuntime(ContainerRuntime):
    """Build steps of buildah (and of `podman build`, which is buildah)."""

    id = "buildah"

    def __init__(
        self,
        storage_root: Path = Path("/var/lib/containers/storage"),
        runtime_roots: tuple[Path, ...] = (Path("/run/runc"), Path("/run/crun")),
    ) -> None:
        self._storage = storage_root
        self._containers = JsonFile.shared(storage_root / "overlay-containers" / "containers.json")
        self._runtime_roots = runtime_roots

    def unavailable_reason(self) -> str | None:
        """Buildah's steps are readable when the container store exists."""
        if not self._containers.path.parent.is_dir():
            return f"no container store at {self._containers.path.parent}"
        return None

    def container_id_for_cgroup(self, cgroup_path: str) -> str | None:
        """The step's runc id (`buildah-buildah<N>`) in a build step's cgroup path."""
        m = _CGROUP_RE.search(cgroup_path)
        return m.group(1) if m else None

    def describe(self, container_id: str, cgroup_id: int) -> Container | None:
        """The step from runc's state, its bundle's spec and the working container."""
        state = self._state(container_id)
        if state is None:
            return None
        spec = _bundle_spec(state)
        hostname = str(spec.get("hostname", ""))
        working = self._working_container(hostname)
        build = JsonFile(
            self._storage / "overlay-containers" / working["id"] / "userdata" / "buildah.json"
        ).load() if working else None  # fmt: skip
        build = build if isinstance(build, dict) else {}
        image_ref = str(build.get("image", ""))
        repository, tag, _ = split_reference(image_ref)
        names = working.get("names") if working else None
        return Container(
            id=working["id"] if working else container_id,
            name=str(build.get("container-name") or (names[0] if names else container_id)),
            runtime=self.id,
            image=image_ref,
            image_repository=repository,
            image_tag=tag,
            image_id=str(build.get("image-id", "")),
            image_digest=str(build.get("image-digest", "")),
            cap_effective=tuple(_capabilities(spec)),
            host_pid=oci_shares_host(spec, "pid"),
            host_ipc=oci_shares_host(spec, "ipc"),
            pid=int(state.get("init_process_pid", 0)),
            cgroup_id=cgroup_id,
            start_ts=parse_time_ns(str(state.get("created", ""))),
            complete=bool(working and build),
        )

    def _state(self, runc_id: str) -> dict[str, Any] | None:
        for root in self._runtime_roots:
            state = JsonFile(root / runc_id / "state.json").load()
            if isinstance(state, dict):
                return state
        return None

    def _working_container(self, hostname: str) -> dict[str, Any] | None:
        """The working container whose id the step's hostname abbreviates."""
        if len(hostname) < 12:
            return None
        found = _named_by(self._containers.load(), hostname)
        # a step starts right after its working container is stored: read again once
        return (
            found if found is not None else _named_by(self._containers.load(fresh=True), hostname)
        )


def _named_by(items: Any, hostname: str) -> dict[str, Any] | None:
    """The container whose id the hostname abbreviates, in containers.json's list."""
    if not isinstance(items, list):
        return None
    return next(
        (c for c in items if isinstance(c, dict) and str(c.get("id", "")).startswith(hostname)),
        None,
    )


def _capabilities(spec: dict[str, Any]) -> list[str]:
    caps = spec.get("process", {}).get("capabilities", {}).get("effective", [])
    return [str(c) for c in caps] if isinstance(caps, list) else []


def _bundle_spec(state: dict[str, Any]) -> dict[str, Any]:
    """The OCI spec of the step's bundle, named by runc's `bundle=` label ({} if unread)."""
    labels = state.get("config", {}).get("labels") or []
    bundle = next((str(x)[len(_BUNDLE_LABEL) :] for x in labels
                   if str(x).startswith(_BUNDLE_LABEL)), "")  # fmt: skip
    if not bundle:
        return {}
    spec = JsonFile(Path(bundle) / "config.json").load()
    return spec if isinstance(spec, dict) else {}


RUNTIMES.register(BuildahRuntime.id, BuildahRuntime)
