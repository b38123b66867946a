"""Build small OCI layouts, OCI archives and docker archives in tests (no registry here)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard


@dataclass
class LayerSpec:
    """One layer: files (path -> bytes), whiteouts and how to compress it."""

    files: dict[str, bytes] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)
    extra: list[tuple[tarfile.TarInfo, bytes | None]] = field(default_factory=list)
    compression: str = "gzip"  # gzip | zstd | none
    created_by: str = ""
    blob: bytes | None = None  # stored as-is instead of the compressed tar (hostile tests)
    diff_id: str = ""  # with `blob`: the diff id the config claims


def layer_tar(spec: LayerSpec) -> bytes:
    """The uncompressed tar of a layer."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in spec.files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mode = spec.modes.get(path, 0o644)
            tar.addfile(info, io.BytesIO(content))
        for info, data in spec.extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def compress(data: bytes, compression: str) -> bytes:
    """Compress a layer tar as asked."""
    if compression == "gzip":
        return gzip.compress(data, compresslevel=1)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


def sha256(data: bytes) -> str:
    """The OCI digest of some bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_diff_id(blob: bytes) -> str:
    """The diff id of a stored layer blob: the digest of its uncompressed tar, hashed in
    chunks (bombs stay small); of the blob itself when it does not decompress."""
    digest = hashlib.sha256()
    try:
        if blob[:2] == b"\x1f\x8b":
            stream: Any = gzip.GzipFile(fileobj=io.BytesIO(blob))
        elif blob[:4] == b"\x28\xb5\x2f\xfd":
            stream = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(blob))
        else:
            return sha256(blob)
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    except (OSError, EOFError, zstandard.ZstdError):
        return sha256(blob)
    return "sha256:" + digest.hexdigest()


def image_config(
    diff_ids: list[str], history: list[str], config: dict[str, Any] | None = None
) -> bytes:
    """A minimal image config JSON."""
    return json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": config or {"Env": ["PATH=/usr/bin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": line} for line in history],
        }
    ).encode()


def write_oci_layout(
    root: Path,
    layers: list[LayerSpec],
    config: dict[str, Any] | None = None,
    raw_config: bytes = b"",
) -> Path:
    """An OCI layout directory holding one image made of `layers` (or `raw_config` as config)."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        digest = sha256(data)
        (blobs / digest.split(":")[1]).write_bytes(data)
        return digest

    descriptors, diff_ids = [], []
    for spec in layers:
        if spec.blob is not None:
            blob = spec.blob
            diff_ids.append(spec.diff_id or blob_diff_id(blob))
        else:
            raw = layer_tar(spec)
            diff_ids.append(sha256(raw))
            blob = compress(raw, spec.compression)
        media = "application/vnd.oci.image.layer.v1.tar" + (
            {"gzip": "+gzip", "zstd": "+zstd"}.get(spec.compression, "")
        )
        descriptors.append({"mediaType": media, "digest": put(blob), "size": len(blob)})
    config_blob = raw_config or image_config(
        diff_ids, [s.created_by or "COPY x" for s in layers], config
    )
    config_digest = put(config_blob)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config_blob),
            },
            "layers": descriptors,
        }
    ).encode()
    manifest_digest = put(manifest)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": len(manifest),
            }
        ],
    }
    (root / "index.json").write_text(json.dumps(index))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return root


def tar_directory(root: Path, archive: Path) -> Path:
    """Pack a directory (e.g. an OCI layout) into an uncompressed tar."""
    with tarfile.open(archive, "w") as tar:
        for path in sorted(root.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
    return archive


def write_docker_archive(
    archive: Path, layers: list[LayerSpec], config: dict[str, Any] | None = None
) -> Path:
    """A `docker save` style archive: manifest.json, <id>.json and <n>/layer.tar."""
    entries: dict[str, bytes] = {}
    paths, diff_ids = [], []
    for spec in layers:
        raw = layer_tar(spec)
        diff_ids.append(spec.diff_id or sha256(raw))
        path = f"{hashlib.sha256(raw).hexdigest()}/layer.tar"
        entries[path] = spec.blob if spec.blob is not None else compress(raw, spec.compression)
        paths.append(path)
    config_blob = image_config(diff_ids, [s.created_by or "COPY x" for s in layers], config)
    config_name = hashlib.sha256(config_blob).hexdigest() + ".json"
    entries[config_name] = config_blob
    manifest = [{"Config": config_name, "RepoTags": ["test:latest"], "Layers": paths}]
    entries["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(archive, "w") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive
