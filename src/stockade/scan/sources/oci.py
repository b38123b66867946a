"""OCI image layouts, as a directory (`oci:DIR`) or inside a tar (`oci-archive:PATH`)."""

from __future__ import annotations

import msgspec

from stockade.scan.errors import SourceError
from stockade.scan.image import ImageConfig, decode_config, layer_refs
from stockade.scan.jsondoc import decode_json_as
from stockade.scan.sources.base import ImageSource, Layer, Readable
from stockade.scan.sources.blobstore import BlobStore, VerifyingReader, blob_path, check_digest

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


class Descriptor(msgspec.Struct, kw_only=True):
    """An OCI content descriptor."""

    mediaType: str = ""  # noqa: N815 - OCI field name
    digest: str
    size: int = -1
    platform: dict[str, str] | None = None


class Index(msgspec.Struct, kw_only=True):
    """An OCI image index (index.json or a nested index blob)."""

    manifests: list[Descriptor] = msgspec.field(default_factory=list)


class Manifest(msgspec.Struct, kw_only=True):
    """An OCI image manifest."""

    mediaType: str = ""  # noqa: N815 - OCI field name
    config: Descriptor
    layers: list[Descriptor] = msgspec.field(default_factory=list)
    annotations: dict[str, str] | None = None


class OciImage(ImageSource):
    """An image in an OCI layout held by a BlobStore."""

    def __init__(self, ref: str, store: BlobStore, platform: str = "linux/amd64") -> None:
        self.ref = ref
        self._store = store
        try:
            self._load(platform)
        except BaseException:
            store.close()
            raise

    def _blob(self, descriptor: Descriptor, what: str) -> bytes:
        path = blob_path(descriptor.digest)
        if not self._store.exists(path):
            raise SourceError(f"{self._store.name}: {what} blob {descriptor.digest} is missing")
        data = self._store.read(path)
        check_digest(data, descriptor.digest, f"{self._store.name}: {what}")
        return data

    def _load(self, platform: str) -> None:
        if not self._store.exists("index.json"):
            raise SourceError(f"{self._store.name}: no index.json; not an OCI layout")
        try:
            index = decode_json_as(self._store.read("index.json"), Index)
            descriptor = self._pick(index, platform)
            manifest = decode_json_as(self._blob(descriptor, "manifest"), Manifest)
            self._config = decode_config(self._blob(manifest.config, "config"))
        except msgspec.DecodeError as e:
            raise SourceError(f"{self._store.name}: malformed OCI document ({e})") from e
        self._annotations = dict(manifest.annotations or {})
        self.manifest_digest = descriptor.digest
        self.config_digest = manifest.config.digest
        refs = layer_refs(self._config, [d.digest for d in manifest.layers])
        if len(refs) != len(manifest.layers):
            raise SourceError(
                f"{self._store.name}: manifest lists {len(manifest.layers)} layers but the "
                f"config has {len(refs)} diff ids"
            )
        self._layers = [
            Layer(ref=ref, media_type=d.mediaType, size=d.size)
            for ref, d in zip(refs, manifest.layers, strict=True)
        ]

    def _pick(self, index: Index, platform: str, depth: int = 0) -> Descriptor:
        if not index.manifests:
            raise SourceError(f"{self._store.name}: the image index lists no manifest")
        wanted_os, _, wanted_arch = platform.partition("/")
        chosen = index.manifests[0]
        for candidate in index.manifests:
            p = candidate.platform or {}
            if p.get("os") == wanted_os and p.get("architecture") == wanted_arch:
                chosen = candidate
                break
        if chosen.mediaType in INDEX_TYPES:
            if depth > 4:
                raise SourceError(f"{self._store.name}: image indexes nest too deep")
            nested = decode_json_as(self._blob(chosen, "index"), Index)
            return self._pick(nested, platform, depth + 1)
        return chosen

    def annotations(self) -> dict[str, str]:
        """The manifest's annotations."""
        return dict(self._annotations)

    def config(self) -> ImageConfig:
        """The image config."""
        return self._config

    def layers(self) -> list[Layer]:
        """The layers, bottom first."""
        return list(self._layers)

    def open_layer(self, layer: Layer) -> Readable:
        """The layer blob, verified against its digest as it is read."""
        path = blob_path(layer.ref.digest)
        if not self._store.exists(path):
            raise SourceError(f"{self._store.name}: layer blob {layer.ref.digest} is missing")
        return VerifyingReader(self._store.open(path), layer.ref.digest, self._store.name)

    def close(self) -> None:
        """Close the underlying archive."""
        self._store.close()
