"""What the walkers tell analyzers about a file before it is read."""

from __future__ import annotations

import stat
from typing import Protocol, Self, runtime_checkable

import msgspec


class FileInfo(msgspec.Struct, frozen=True):
    """A regular file met while walking a layer or a directory."""

    # a Struct, not a frozen dataclass: made for every file a walk meets, it is built
    # several times faster

    path: str  # relative, "/"-separated, no leading slash, no ".." parts
    size: int
    mode: int = 0o644

    @property
    def executable(self) -> bool:
        """True when any execute bit is set."""
        return bool(self.mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))

    @property
    def name(self) -> str:
        """The last path component."""
        path = self.path
        return path[path.rfind("/") + 1 :]


class WalkLimits(msgspec.Struct, frozen=True):
    """Bounds that keep memory and time in check on hostile input."""

    max_file_size: int = 10 * 1024 * 1024
    max_layer_size: int = 8 * 1024 * 1024 * 1024
    skip_dirs: tuple[str, ...] = ()

    def skipped(self, path: str) -> bool:
        """True when `path` lies in one of the skipped directories."""
        if not self.skip_dirs:  # asked for every entry of every layer
            return False
        return any(path == d or path.startswith(d + "/") for d in self.skip_dirs)


class Readable(Protocol):
    """A byte stream that can be read and closed."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to `size` bytes; b"" at EOF."""
        ...

    def close(self) -> None:
        """Release the stream."""
        ...


@runtime_checkable
class RandomAccess(Readable, Protocol):
    """A byte stream that can also seek (a file on disk, an in-memory buffer)."""

    def seek(self, offset: int, whence: int = 0, /) -> int:
        """Move to `offset` (from the start, or as `whence` says); the new position."""
        ...


class Selection(Protocol):
    """What a walker's selector returned for a file: whether to load it into memory.

    False streams the file to the analyzers instead (a tar entry read forward, a file on
    disk that can seek), so a file of any size can be analyzed in bounded memory.
    """

    @property
    def in_memory(self) -> bool:
        """True when the file's whole content should be read into memory."""
        ...

    @property
    def head_size(self) -> int:
        """How many first bytes to read before deciding on the rest (0: no such test)."""
        ...

    def after_head(self, head: bytes) -> Self | None:
        """What is still wanted once the first `head_size` bytes are known; None: nothing."""
        ...
