"""`docker save` / `podman save` archives: manifest.json, a config and one tar per layer."""

from __future__ import annotations

import msgspec

from stockade.scan.decompress import PrefixedReader, is_compressed
from stockade.scan.errors import SourceError
from stockade.scan.image import ImageConfig, decode_config, layer_refs
from stockade.scan.jsondoc import decode_json_as
from stockade.scan.sources.base import ImageSource, Layer, Readable
from stockade.scan.sources.blobstore import BlobStore, VerifyingReader, check_digest


class DockerManifestEntry(msgspec.Struct):
    """One image of a docker-archive manifest.json."""

    Config: str
    Layers: list[str]
    RepoTags: list[str] | None = None


class DockerArchiveImage(ImageSource):
    """The first image of a docker-archive held by a BlobStore."""

    def __init__(self, ref: str, store: BlobStore) -> None:
        self.ref = ref
        self._store = store
        try:
            self._load()
        except BaseException:
            store.close()
            raise

    def _load(self) -> None:
        if not self._store.exists("manifest.json"):
            raise SourceError(f"{self._store.name}: no manifest.json; not a docker archive")
        try:
            entries = decode_json_as(self._store.read("manifest.json"), list[DockerManifestEntry])
        except msgspec.DecodeError as e:
            raise SourceError(f"{self._store.name}: malformed manifest.json ({e})") from e
        if not entries:
            raise SourceError(f"{self._store.name}: manifest.json lists no image")
        entry = entries[0]
        if not self._store.exists(entry.Config):
            raise SourceError(f"{self._store.name}: config {entry.Config} is missing")
        data = self._store.read(entry.Config)
        self.config_digest = "sha256:" + entry.Config.rsplit("/", 1)[-1].removesuffix(".json")
        check_digest(data, self.config_digest, f"{self._store.name}: config")
        try:
            self._config = decode_config(data)
        except msgspec.DecodeError as e:
            raise SourceError(f"{self._store.name}: malformed config ({e})") from e
        self._paths = list(entry.Layers)
        blob_digests = [_digest_from_path(p) for p in self._paths]
        refs = layer_refs(self._config, blob_digests)
        if len(refs) != len(self._paths):
            raise SourceError(
                f"{self._store.name}: manifest.json lists {len(self._paths)} layers but the "
                f"config has {len(refs)} diff ids"
            )
        self._layers = [Layer(ref=r) for r in refs]

    def config(self) -> ImageConfig:
        """The image config."""
        return self._config

    def layers(self) -> list[Layer]:
        """The layers, bottom first."""
        return list(self._layers)

    def open_layer(self, layer: Layer) -> Readable:
        """The layer tar (maybe compressed) as stored in the archive."""
        path = self._paths[self._layers.index(layer)]
        if not self._store.exists(path):
            raise SourceError(f"{self._store.name}: layer {path} is missing from the archive")
        what = f"{self._store.name}: {path}"
        stream = self._store.open(path)
        named = _digest_from_path(path)  # blobs/sha256/<hex> names the stored bytes
        if named:
            return VerifyingReader(stream, named, what)
        head = stream.read(4)
        reader = PrefixedReader(head, stream)
        if is_compressed(head):
            return reader  # an old-layout compressed layer: no digest names these bytes
        return VerifyingReader(reader, layer.ref.diff_id, what)  # a plain tar is its diff id

    def close(self) -> None:
        """Close the archive."""
        self._store.close()


def _digest_from_path(path: str) -> str:
    # docker 25+ names layers blobs/sha256/<hex>; older archives <id>/layer.tar or <hex>.tar
    parts = path.split("/")
    if len(parts) == 3 and parts[:2] == ["blobs", "sha256"] and len(parts[2]) == 64:
        return "sha256:" + parts[2]
    return ""
