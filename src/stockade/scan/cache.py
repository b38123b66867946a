"""Per-layer analysis results on disk, keyed by diff id and analyzer versions (msgpack)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import msgspec

from stockade.scan.layers import LayerResult

_decoder = msgspec.msgpack.Decoder(LayerResult)
_encoder = msgspec.msgpack.Encoder()


class LayerCache:
    """A directory of msgpack files, one per (layer, analyzer set)."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def _path(self, key: str) -> Path:
        return self._dir / "layers" / key[:2] / f"{key}.msgpack"

    def get(self, key: str) -> LayerResult | None:
        """The stored result, or None when absent or unreadable (then it is recomputed)."""
        try:
            return _decoder.decode(self._path(key).read_bytes())
        except (OSError, msgspec.DecodeError):
            return None

    def put(self, key: str, result: LayerResult) -> None:
        """Store a result atomically; a cache that cannot be written is silently skipped."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(_encoder.encode(result))
            os.replace(tmp, path)
        except OSError:
            return
