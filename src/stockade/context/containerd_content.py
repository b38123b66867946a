"""An image's id (its config digest) read from containerd's content store on disk.

containerd keeps every blob it pulled or imported under
`<root>/io.containerd.content.v1.content/blobs/<algorithm>/<hex>`. An image record's
target is a manifest, or an index (manifest list) naming one manifest per platform; the
manifest names the image config, whose digest is the image id that `container.image.id`
shows (hex, without the algorithm, as Falco shows it).
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

from stockade.context.runtime import ContextError

CONTENT_ROOT = Path("/var/lib/containerd/io.containerd.content.v1.content")

_INDEX_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
_MAX_BLOB = 4 << 20  # manifests and indexes are small; anything larger is not one
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le"}


class ImageIdError(ContextError):
    """The content store does not hold a readable manifest for the image."""


def image_id(content_root: Path, target_digest: str, media_type: str) -> str:
    """The config digest (hex) of the image whose target is `target_digest`."""
    document = _blob(content_root, target_digest)
    if media_type in _INDEX_TYPES or "manifests" in document:
        document = _blob(content_root, _platform_manifest(document, target_digest))
    config = document.get("config")
    digest = config.get("digest") if isinstance(config, dict) else None
    if not isinstance(digest, str) or ":" not in digest:
        raise ImageIdError(f"manifest {target_digest} names no config")
    return digest.partition(":")[2]


def _platform_manifest(index: dict[str, Any], index_digest: str) -> str:
    """The digest of the index entry for this machine (linux and its architecture)."""
    arch = _ARCH.get(platform.machine(), platform.machine())
    for entry in index.get("manifests") or []:
        wanted = entry.get("platform") or {}
        if wanted.get("os", "linux") == "linux" and wanted.get("architecture", arch) == arch:
            return str(entry.get("digest", ""))
    raise ImageIdError(f"index {index_digest} has no manifest for linux/{arch}")


def _blob(content_root: Path, digest: str) -> dict[str, Any]:
    algorithm, _, hexdigest = digest.partition(":")
    if not algorithm.isalnum() or not hexdigest.isalnum():
        raise ImageIdError(f"not a digest: {digest!r}")
    path = content_root / "blobs" / algorithm / hexdigest
    try:
        with path.open("rb") as f:
            data = f.read(_MAX_BLOB + 1)
    except OSError as e:
        raise ImageIdError(f"blob {digest} unreadable: {e.strerror or e}") from e
    if len(data) > _MAX_BLOB:
        raise ImageIdError(f"blob {digest} is larger than a manifest can be")
    try:
        document = json.loads(data)
    except ValueError as e:
        raise ImageIdError(f"blob {digest} is not JSON: {e}") from e
    if not isinstance(document, dict):
        raise ImageIdError(f"blob {digest} is not a JSON object")
    return document
