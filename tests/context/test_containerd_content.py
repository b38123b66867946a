"""Image ids read from a content store laid out as containerd lays it out."""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import pytest

from stockade.context.containerd_content import ImageIdError, image_id

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _put(root: Path, document: object) -> str:
    """Store `document` as a blob; its digest."""
    data = json.dumps(document).encode()
    hexdigest = hashlib.sha256(data).hexdigest()
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (blobs / hexdigest).write_bytes(data)
    return f"sha256:{hexdigest}"


def _manifest(root: Path, config_hex: str) -> str:
    config = {"mediaType": "application/vnd.oci.image.config.v1+json"}
    return _put(root, {"config": config | {"digest": f"sha256:{config_hex}"}, "layers": []})


def test_a_manifest_names_the_config(tmp_path: Path) -> None:
    assert image_id(tmp_path, _manifest(tmp_path, "ab" * 32), OCI_MANIFEST) == "ab" * 32


def test_an_index_gives_this_machines_manifest(tmp_path: Path) -> None:
    other = "s390x" if ARCH != "s390x" else "amd64"
    entries = [
        {"digest": _manifest(tmp_path, config), "platform": {"os": "linux", "architecture": arch}}
        for config, arch in (("11" * 32, other), ("22" * 32, ARCH))
    ]
    index = {"manifests": entries}
    assert image_id(tmp_path, _put(tmp_path, index), OCI_INDEX) == "22" * 32


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (None, "unreadable"),
        ("not json", "not JSON"),
        (["a", "list"], "not a JSON object"),
        ({"layers": []}, "names no config"),
        ({"manifests": [{"digest": "sha256:00", "platform": {"architecture": "x"}}]}, "for linux"),
    ],
)  # fmt: skip
def test_what_is_not_a_manifest_is_named(tmp_path: Path, blob: object, message: str) -> None:
    if blob is None:
        digest = "sha256:" + "0" * 64
    elif isinstance(blob, str):
        digest = f"sha256:{hashlib.sha256(blob.encode()).hexdigest()}"
        (tmp_path / "blobs" / "sha256").mkdir(parents=True)
        (tmp_path / "blobs" / "sha256" / digest[7:]).write_text(blob)
    else:
        digest = _put(tmp_path, blob)
    with pytest.raises(ImageIdError, match=message):
        image_id(tmp_path, digest, OCI_MANIFEST)


def test_a_digest_cannot_walk_out_of_the_store(tmp_path: Path) -> None:
    with pytest.raises(ImageIdError, match="not a digest"):
        image_id(tmp_path / "store", "sha256:../../etc/passwd", OCI_MANIFEST)
