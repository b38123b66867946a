"""Images whose layer content failed its digest check, kept per digest for the drift check.

When the agent's scan or executables pass of an image fails because a layer's content does
not match its digest (a file of the layer changed on disk), no list of the image's
executables can be had, and pinning a file's sha256 on its first read would take the
changed file as the image's. The agent then stores `<dir>/sha256-<hex>.tampered` holding
the file the check named ("" when it named none), and the drift check distrusts that
file, or every file of the image's layers when none was named (`TamperedImages.distrusts`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from stockade.profiles.scanned_files import RECHECK_S, file_of, write_atomically

SUFFIX = ".tampered"
ANY_FILE = ""  # the check named no file: every file of the image's layers is distrusted


def marker_of(directory: Path, digest: str) -> Path | None:
    """Where an image's marker is kept; None for a digest that is not `sha256:<64 hex>`."""
    found = file_of(directory, digest)
    return found.with_suffix(SUFFIX) if found is not None else None


def mark_tampered(directory: Path, digest: str, file: str) -> None:
    """Record the image as failing its integrity check (OSError if it cannot be stored)."""
    marker = marker_of(directory, digest)
    if marker is not None:
        write_atomically(marker, file.encode())


class TamperedImages:
    """Reads the markers the agent stored, keeping what it found in memory."""

    def __init__(self, directory: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.directory = directory
        self._clock = clock
        self._found: dict[str, str | None] = {}  # digest -> file named, None: not tampered
        self._read_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def distrusts(self, digest: str, path: str) -> bool:
        """True when `path` of the image must not be taken from its layers as they are."""
        with self._lock:
            named = self._named(digest)
        return named is not None and named in (ANY_FILE, path)

    def _named(self, digest: str) -> str | None:
        now = self._clock()
        if digest in self._found and now - self._read_at[digest] < RECHECK_S:
            return self._found[digest]
        marker = marker_of(self.directory, digest)
        try:
            named = marker.read_text() if marker is not None else None
        except FileNotFoundError:
            named = None
        except (OSError, UnicodeDecodeError):
            named = ANY_FILE  # a marker there but unreadable: distrust the image
        if len(self._found) >= 1024:
            self._found.clear()
            self._read_at.clear()
        self._found[digest], self._read_at[digest] = named, now
        return named
