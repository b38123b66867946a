"""Podman containers described from podman's own state files, without its CLI.

Sources: containers/storage's `containers.json` (id, name, image id and name),
`<id>/userdata/config.json` (the OCI spec: caps, mounts, namespaces, privileged),
`overlay-images/images.json` (image names and manifest digest), runc's `state.json`
(init pid), libpod's events log (labels, start time) and libpod's state database (the
network status netavark or CNI returned: container.cni.json, `netstatus.py`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from stockade.context.imageref import split_reference
from stockade.context.netstatus import PodmanNetworkStatus
from stockade.context.ocispec import oci_shares_host
from stockade.context.runtime import RUNTIMES, ContainerRuntime
from stockade.model import Container
from stockade.model.entities import Mount

_CGROUP_RE = re.compile(r"libpod-([0-9a-f]{64})(?:\.scope)?(?:/|$)")


_Reader = TypeVar("_Reader")
_SHARED: dict[tuple[object, Path], Any] = {}  # one reader per (kind, path) in this process
_SHARED_LOCK = threading.Lock()


def _shared(kind: Callable[[Path], _Reader], path: Path) -> _Reader:
    """The process's one reader of `path` made by `kind`: one parsed copy, not one per user."""
    with _SHARED_LOCK:
        return _SHARED.setdefault((kind, path), kind(path))  # type: ignore[no-any-return]


class JsonFile:
    """A JSON file re-read only when its size or mtime changes."""

    @classmethod
    def shared(cls, path: Path) -> JsonFile:
        """The one JsonFile of `path` in this process: containers.json and images.json are
        read by several runtimes (podman, buildah, CRI-O) in each of the agent's resolvers."""
        return _shared(cls, path)

    def __init__(self, path: Path) -> None:
        self.path = path
        # (stamp, parsed) swapped as one: a shared file may be loaded from several threads
        self._loaded: tuple[tuple[int, int], Any] | None = None

    def load(self, *, fresh: bool = False) -> Any:
        """The parsed content, or None while the file is missing or half-written.

        `fresh` reads the file whatever its stamp says: a rewrite within one mtime tick
        that keeps the size (one container swapped for another) leaves the stamp unchanged.
        """
        loaded = self._loaded
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
            if fresh or loaded is None or loaded[0] != stamp:
                loaded = (stamp, json.loads(self.path.read_bytes()))
                self._loaded = loaded
        except (OSError, ValueError):
            self._loaded = None
            return None
        return loaded[1]


class EventsLog:
    """Follows libpod's events log (JSON lines) for container labels and start times."""

    @classmethod
    def shared(cls, path: Path) -> EventsLog:
        """The one EventsLog of `path` in this process (each resolver has a podman runtime)."""
        return _shared(cls, path)

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # a shared log is refreshed from several threads
        self._offset = 0
        self.labels: dict[str, dict[str, str]] = {}
        self.started: dict[str, int] = {}

    def refresh(self) -> None:
        """Read the lines appended since the last call."""
        with self._lock:
            self._read_appended()

    def _read_appended(self) -> None:
        try:
            with self.path.open("rb") as f:
                if f.seek(0, 2) < self._offset:
                    self._offset = 0  # rotated
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1
        self._offset += end
        for line in data[:end].splitlines():
            self._apply(line)

    def _apply(self, line: bytes) -> None:
        try:
            rec = json.loads(line)
        except ValueError:
            return
        cid = rec.get("ID")
        if rec.get("Type") != "container" or not isinstance(cid, str):
            return
        if isinstance(rec.get("Attributes"), dict):
            attrs = {str(k): str(v) for k, v in rec["Attributes"].items()}
            self.labels[cid] = {k: v for k, v in attrs.items() if k not in ("image", "name")}
        if rec.get("Status") == "start":
            self.started[cid] = parse_time_ns(str(rec.get("Time", "")))
        if len(self.labels) > 10_000:  # bound memory on hosts with many short containers
            self.labels.clear()
            self.started.clear()


def parse_time_ns(text: str) -> int:
    """RFC 3339 with up to nanoseconds -> ns since the epoch (0 if unparsable)."""
    m = re.match(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    if not m:
        return 0
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    base = datetime.fromisoformat(m.group(1) + tz)
    frac = (m.group(2) or "0")[:9].ljust(9, "0")
    return int(base.timestamp()) * 1_000_000_000 + int(frac)


def _mounts(spec: dict[str, Any]) -> tuple[Mount, ...]:
    found = []
    for m in spec.get("mounts", []):
        if m.get("type") != "bind":
            continue
        options = m.get("options", [])
        propagation = next((o for o in options if o.endswith(("private", "shared", "slave"))), "")
        found.append(
            Mount(
                source=m.get("source", ""),
                dest=m.get("destination", ""),
                mode=",".join(options),
                rw="ro" not in options,
                propagation=propagation,
            )
        )
    return tuple(found)


def _network_mode(spec: dict[str, Any]) -> str:
    for ns in spec.get("linux", {}).get("namespaces", []):
        if ns.get("type") == "network":
            return "bridge" if ns.get("path") else "none"
    return "host"


class PodmanRuntime(ContainerRuntime):
    """Podman (libpod with containers/storage and runc or crun)."""

    id = "podman"

    def __init__(
        self,
        storage_root: Path = Path("/var/lib/containers/storage"),
        events_log: Path = Path("/run/libpod/events/events.log"),
        runtime_roots: tuple[Path, ...] = (Path("/run/runc"), Path("/run/crun")),
    ) -> None:
        self._storage = storage_root
        self._containers = JsonFile.shared(storage_root / "overlay-containers" / "containers.json")
        self._images = JsonFile.shared(storage_root / "overlay-images" / "images.json")
        self._events = EventsLog.shared(events_log)
        self._runtime_roots = runtime_roots
        self._network = PodmanNetworkStatus(storage_root / "libpod" / "bolt_state.db")

    def unavailable_reason(self) -> str | None:
        """Podman is readable when its container store exists."""
        if not self._containers.path.parent.is_dir():
            return f"no podman container store at {self._containers.path.parent}"
        return None

    def container_id_for_cgroup(self, cgroup_path: str) -> str | None:
        """The container id in a libpod cgroup path (cgroupfs or systemd manager)."""
        m = _CGROUP_RE.search(cgroup_path)
        return m.group(1) if m else None

    def describe(self, container_id: str, cgroup_id: int) -> Container | None:
        """Join containers.json, config.json, images.json, runc state and the events log."""
        entry = _by_id(self._containers.load(), container_id)
        if entry is None:
            return None
        meta = _json_object(entry.get("metadata"))
        image_id = str(entry.get("image") or meta.get("image-id") or "")
        image_ref = str(meta.get("image-name", ""))
        image = _by_id(self._images.load(), image_id)
        if not image_ref and image and image.get("names"):
            image_ref = str(image["names"][0])
        repository, tag, _ = split_reference(image_ref)
        spec = JsonFile(
            self._storage / "overlay-containers" / container_id / "userdata" / "config.json"
        ).load()
        self._events.refresh()
        names = entry.get("names") or [meta.get("name", "")]
        fields: dict[str, Any] = {
            "id": container_id,
            "name": str(names[0]),
            "runtime": self.id,
            "image": image_ref,
            "image_repository": repository,
            "image_tag": tag,
            "image_id": image_id,
            "image_digest": str(image.get("digest", "")) if image else "",
            "labels": self._events.labels.get(container_id, {}),
            "cgroup_id": cgroup_id,
        }
        fields["pid"], created = self._runtime_state(container_id)
        fields["start_ts"] = self._events.started.get(container_id, created)
        if isinstance(spec, dict):
            annotations = spec.get("annotations", {})
            caps = spec.get("process", {}).get("capabilities", {}).get("effective", [])
            fields["privileged"] = annotations.get("io.podman.annotations.privileged") == "TRUE"
            fields["cap_effective"] = tuple(caps)
            fields["mounts"] = _mounts(spec)
            fields["network_mode"] = _network_mode(spec)
            if fields["network_mode"] == "bridge":  # netavark's (or CNI's) answer, by interface
                fields["cni_json"] = self._network.cni_json(container_id)
            fields["host_pid"] = oci_shares_host(spec, "pid")
            fields["host_ipc"] = oci_shares_host(spec, "ipc")
        fields["complete"] = isinstance(spec, dict) and image is not None
        return Container(**fields)

    def _runtime_state(self, container_id: str) -> tuple[int, int]:
        """The init pid and creation time (ns) from the OCI runtime's state file."""
        for root in self._runtime_roots:
            state = JsonFile(root / container_id / "state.json").load()
            if isinstance(state, dict):
                created = parse_time_ns(str(state.get("created", "")))
                return int(state.get("init_process_pid", 0)), created
        return 0, 0


def _by_id(items: Any, wanted: str) -> dict[str, Any] | None:
    if not isinstance(items, list) or not wanted:
        return None
    return next((i for i in items if isinstance(i, dict) and i.get("id") == wanted), None)


def _json_object(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


RUNTIMES.register(PodmanRuntime.id, PodmanRuntime)
