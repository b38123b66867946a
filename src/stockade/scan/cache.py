"""Per-layer analysis results on disk, keyed by diff id and analyzer versions (msgpack).

An image config's findings are kept beside them, keyed by the manifest and config digests.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from stockade.model.inventory import Finding
from stockade.scan.layers import LayerResult

_decoder = msgspec.msgpack.Decoder(LayerResult)
_findings_decoder = msgspec.msgpack.Decoder(list[Finding])
_encoder = msgspec.msgpack.Encoder()


class LayerCache:
    """A directory of msgpack files, one per (layer, analyzer set)."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def _path(self, key: str, kind: str = "layers") -> Path:
        return self._dir / kind / key[:2] / f"{key}.msgpack"

    def get(self, key: str) -> LayerResult | None:
        """The stored result, or None when absent or unreadable (then it is recomputed)."""
        try:
            return _decoder.decode(self._path(key).read_bytes())
        except (OSError, msgspec.DecodeError):
            return None

    def put(self, key: str, result: LayerResult) -> None:
        """Store a result atomically; a cache that cannot be written is silently skipped."""
        self._write(self._path(key), result)

    def get_findings(self, key: str) -> list[Finding] | None:
        """Stored image-config findings, or None when absent or unreadable."""
        try:
            return _findings_decoder.decode(self._path(key, "config").read_bytes())
        except (OSError, msgspec.DecodeError):
            return None

    def put_findings(self, key: str, findings: list[Finding]) -> None:
        """Store an image config's findings atomically (silently skipped when unwritable)."""
        self._write(self._path(key, "config"), findings)

    def _write(self, path: Path, value: object) -> None:
        import tempfile  # only a scan that missed the cache writes

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(_encoder.encode(value))
            os.replace(tmp, path)
        except OSError:
            return
