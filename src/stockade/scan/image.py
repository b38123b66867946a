"""The parts of an image config and history that scanning uses."""

from __future__ import annotations

import msgspec

from stockade.model.inventory import LayerRef
from stockade.scan.jsondoc import decode_json_as

_NOP_PREFIXES = ("/bin/sh -c #(nop) ", "/bin/sh -c #(nop)")


class HealthConfig(msgspec.Struct, kw_only=True):
    """A HEALTHCHECK as an image config stores it."""

    Test: list[str] | None = None


class RuntimeConfig(msgspec.Struct, kw_only=True):
    """The `config` member of an OCI/Docker image config."""

    User: str = ""
    Env: list[str] | None = None
    Cmd: list[str] | None = None
    Entrypoint: list[str] | None = None
    WorkingDir: str = ""
    Labels: dict[str, str] | None = None
    ExposedPorts: dict[str, object] | None = None
    Healthcheck: HealthConfig | None = None


class HistoryEntry(msgspec.Struct, kw_only=True):
    """One history line of an image config."""

    created: str = ""
    created_by: str = ""
    comment: str = ""
    empty_layer: bool = False


class RootFs(msgspec.Struct, kw_only=True):
    """The diff ids (sha256 of each uncompressed layer) in order."""

    type: str = "layers"
    diff_ids: list[str] = msgspec.field(default_factory=list)


class ImageConfig(msgspec.Struct, kw_only=True):
    """An OCI/Docker image config: runtime config, layers and history."""

    architecture: str = ""
    os: str = ""
    config: RuntimeConfig = msgspec.field(default_factory=RuntimeConfig)
    rootfs: RootFs = msgspec.field(default_factory=RootFs)
    history: list[HistoryEntry] = msgspec.field(default_factory=list)


def decode_config(data: bytes) -> ImageConfig:
    """Decode an image config JSON document."""
    return decode_json_as(data, ImageConfig)


def clean_created_by(line: str) -> str:
    """A history line without the `/bin/sh -c #(nop)` noise builders add."""
    for prefix in _NOP_PREFIXES:
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    return line.strip()


def layer_refs(config: ImageConfig, blob_digests: list[str]) -> list[LayerRef]:
    """One LayerRef per layer: blob digest, diff id and the history line that made it."""
    lines = [clean_created_by(h.created_by) for h in config.history if not h.empty_layer]
    refs = []
    for index, diff_id in enumerate(config.rootfs.diff_ids):
        refs.append(
            LayerRef(
                digest=(blob_digests[index] if index < len(blob_digests) else "") or diff_id,
                diff_id=diff_id,
                created_by=lines[index] if index < len(lines) else "",
            )
        )
    return refs
