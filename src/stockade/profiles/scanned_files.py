"""Image executables' sha256 from the agent's own image scans, kept per image digest.

The scan child writes `<dir>/sha256-<hex>.msgpack` ({"/usr/bin/id": "sha256:..."}, as
the scanner read the files from the image's verified layers); the drift check reads
it back and prefers it to a hash pinned when a layer file is first read, which a file
changed in place before that read would fool. A few images' maps stay in memory; an
image not scanned (yet) is looked for again after a few seconds.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path

import msgspec

IMAGE_FILES_DIR = "image-files"  # under the agent's state directory
MAX_IMAGES = 16
RECHECK_S = 5.0
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_decoder = msgspec.msgpack.Decoder(dict[str, str])


def file_of(directory: Path, digest: str) -> Path | None:
    """Where an image's map is kept; None for a digest that is not `sha256:<64 hex>`."""
    if not _DIGEST.fullmatch(digest):
        return None
    return directory / f"sha256-{digest[7:]}.msgpack"


def write_executables(path: Path, executables: Mapping[str, str]) -> None:
    """Store an image's map at `path` (from `file_of`) atomically; OSError if it cannot."""
    write_atomically(path, msgspec.msgpack.encode(dict(executables)))


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in its directory; OSError if not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


class ScannedExecutables:
    """Reads the maps the scans stored, keeping the last few images' in memory."""

    def __init__(self, directory: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.directory = directory
        self._clock = clock
        self._maps: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._missing: dict[str, float] = {}  # digest -> when it was found absent
        self._lock = threading.Lock()  # the exec guard's thread and the pipeline's ask

    def get(self, digest: str) -> Mapping[str, str] | None:
        """The image's executables by path; None when it was not scanned by this agent."""
        with self._lock:
            return self._get(digest)

    def _get(self, digest: str) -> dict[str, str] | None:
        found = self._maps.get(digest)
        if found is not None:
            self._maps.move_to_end(digest)
            return found
        now = self._clock()
        if now - self._missing.get(digest, -RECHECK_S) < RECHECK_S:
            return None
        path = file_of(self.directory, digest)
        try:
            found = _decoder.decode(path.read_bytes()) if path is not None else None
        except (OSError, msgspec.DecodeError):
            found = None
        if found is None:
            if len(self._missing) >= MAX_IMAGES * 64:
                self._missing.clear()
            self._missing[digest] = now
            return None
        self._missing.pop(digest, None)
        self._maps[digest] = found
        if len(self._maps) > MAX_IMAGES:
            self._maps.popitem(last=False)
        return found
