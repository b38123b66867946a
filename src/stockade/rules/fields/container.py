"""container.* and k8s.* fields (the container plugin's fields, built in): Event.container."""

from __future__ import annotations

from typing import Any

from stockade.model import Event
from stockade.model.entities import Container, Mount
from stockade.rules.fields.base import ArgKind, Extractor, FieldDef, FieldTable, FieldType, simple


def _c(fn: Any) -> Extractor:
    """Container extractor; empty strings stand for unknown metadata (None)."""

    def extract(e: Event) -> Any:
        value = fn(e.container)
        return None if value == "" else value

    return extract


def _mount_text(m: Mount) -> str:
    return f"{m.source}:{m.dest}:{m.mode}:{'true' if m.rw else 'false'}:{m.propagation}"


def _mount(attr: str | None) -> Any:
    def bind(arg: str | None) -> Extractor:
        assert arg is not None

        def pick(c: Container) -> Mount | None:
            if arg.isdigit():
                index = int(arg)
                return c.mounts[index] if index < len(c.mounts) else None
            key = "dest" if attr in (None, "source") else "source"
            return next((m for m in c.mounts if getattr(m, key) == arg), None)

        def extract(e: Event) -> Any:
            m = pick(e.container)
            if m is None:
                return None
            if attr is None:
                return _mount_text(m)
            if attr == "rdwr":
                return "true" if m.rw else "false"
            return getattr(m, attr)

        return extract

    return bind


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f"{k}:{v}" for k, v in labels.items())


def _label(which: str) -> Any:
    def bind(arg: str | None) -> Extractor:
        return lambda e: getattr(e.container, which).get(arg or "")

    return bind


def _in_container(fn: Any) -> Extractor:
    """A container's flag; None for host activity (no container to describe)."""
    return lambda e: None if e.container.is_host else fn(e.container)


def _duration(e: Event) -> int | None:
    start = e.container.start_ts
    return e.ts - start if start else None


def register(t: FieldTable) -> None:
    """Add the container.* and k8s.* fields to `t`."""
    S, B = FieldType.STRING, FieldType.BOOL
    simple(
        t,
        "container.id",
        S,
        "12-char id, 'host' outside containers",
        lambda e: e.container.short_id,
        inline="e.container.short_id",
    )
    simple(t, "container.full_id", S, "64-hex id (Container.id)", lambda e: e.container.id)
    simple(t, "container.name", S, "name (Container.name)", _c(lambda c: c.name))
    simple(t, "container.image", S, "image reference (Container.image)", _c(lambda c: c.image))
    simple(t, "container.image.id", S, "image id", _c(lambda c: c.image_id))
    simple(
        t,
        "container.image.repository",
        S,
        "image repository",
        _c(lambda c: c.image_repository),
        inline="(e.container.image_repository or None)",
    )
    simple(t, "container.image.tag", S, "image tag", _c(lambda c: c.image_tag))
    simple(t, "container.image.digest", S, "image digest", _c(lambda c: c.image_digest))
    simple(t, "container.type", S, "runtime (Container.runtime)", _c(lambda c: c.runtime))
    simple(
        t,
        "container.privileged",
        B,
        "privileged container",
        lambda e: e.container.privileged,
        inline="e.container.privileged",
    )
    simple(
        t,
        "container.mounts",
        S,
        "mounts, source:dest:mode:rdwr:propagation",
        _c(lambda c: " ".join(_mount_text(m) for m in c.mounts)),
    )
    for attr in (None, "source", "dest", "mode", "rdwr", "propagation"):
        name = "container.mount" + (f".{attr}" if attr else "")
        t.add(FieldDef(name, S, "one mount by index or path", _mount(attr), ArgKind.KEY))
    simple(
        t,
        "container.start_ts",
        FieldType.ABSTIME,
        "start, ns since epoch",
        _c(lambda c: c.start_ts or None),
    )
    simple(t, "container.duration", FieldType.RELTIME, "ns since start", _duration)
    simple(t, "container.ip", S, "primary IPv4 (Container.ip)", _c(lambda c: c.ip))
    simple(t, "container.cni.json", S, "CNI result by interface (Container.cni_json)",
           _c(lambda c: c.cni_json))  # fmt: skip
    simple(t, "container.host_pid", B, "in the host pid namespace (Container.host_pid)",
           _in_container(lambda c: c.host_pid))  # fmt: skip
    simple(
        t,
        "container.host_network",
        B,
        "in the host network namespace",
        lambda e: e.container.network_mode == "host",
    )
    simple(t, "container.host_ipc", B, "in the host IPC namespace (Container.host_ipc)",
           _in_container(lambda c: c.host_ipc))  # fmt: skip
    t.add(FieldDef("container.label", S, "one label", _label("labels"), ArgKind.KEY, dotted=True))
    simple(t, "container.labels", S, "labels k:v joined by commas", _c(lambda c: _labels(c.labels)))
    for name in ("healthcheck", "liveness_probe", "readiness_probe"):
        simple(t, f"container.{name}", S, "deprecated", lambda _e: None)
    simple(t, "k8s.pod.name", S, "pod name (Container.pod_name)", _c(lambda c: c.pod_name))
    simple(
        t,
        "k8s.ns.name",
        S,
        "namespace (Container.pod_namespace)",
        _c(lambda c: c.pod_namespace),
        inline="(e.container.pod_namespace or None)",
    )
    simple(t, "k8s.pod.uid", S, "pod uid (Container.pod_uid)", _c(lambda c: c.pod_uid))
    simple(t, "k8s.pod.id", S, "legacy: the pod uid", _c(lambda c: c.pod_uid))
    simple(t, "k8s.pod.sandbox_id", S, "sandbox id, 12 chars",
           _c(lambda c: c.pod_sandbox_id[:12]))  # fmt: skip
    simple(t, "k8s.pod.full_sandbox_id", S, "sandbox id (Container.pod_sandbox_id)",
           _c(lambda c: c.pod_sandbox_id))  # fmt: skip
    t.add(
        FieldDef(
            "k8s.pod.label", S, "one pod label", _label("pod_labels"), ArgKind.KEY, dotted=True
        )
    )
    simple(t, "k8s.pod.labels", S, "pod labels k:v", _c(lambda c: _labels(c.pod_labels)))
    simple(t, "k8s.pod.ip", S, "pod IPv4: the container's (shared network)",
           lambda e: (e.container.ip or None) if e.container.pod_name else None)  # fmt: skip
    _register_deprecated_k8s(t)
    simple(t, "k8s.pod.cni.json", S, "pod CNI result: the container's (shared network)",
           lambda e: (e.container.cni_json or None) if e.container.pod_name else None)  # fmt: skip


def _register_deprecated_k8s(t: FieldTable) -> None:
    """The k8s.* fields the container plugin keeps only as deprecated: always empty."""
    S = FieldType.STRING
    for kind in ("rc", "svc", "ns", "rs", "deployment"):
        names = ("id", "labels") if kind == "ns" else ("name", "id", "labels")
        for attr in names:
            simple(t, f"k8s.{kind}.{attr}", S, "deprecated (k8smeta plugin)", lambda _e: None)
        t.add(
            FieldDef(
                f"k8s.{kind}.label",
                S,
                "deprecated (k8smeta plugin)",
                lambda _arg: lambda _e: None,
                ArgKind.KEY,
                dotted=True,
            )
        )
