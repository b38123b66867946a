"""Read files of an image archive or layout without extracting it."""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
from abc import ABC, abstractmethod
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from stockade.scan.errors import DigestMismatchError, SourceError
from stockade.scan.files import Readable

MAX_METADATA_SIZE = 16 * 1024 * 1024  # manifests and configs are small; refuse giants


class BlobStore(ABC):
    """Named files of an image container format (a tar or a directory)."""

    name: str

    @abstractmethod
    def exists(self, path: str) -> bool:
        """True when the store holds `path`."""

    @abstractmethod
    def open(self, path: str) -> BinaryIO:
        """A stream over `path`; SourceError when it is missing."""

    @abstractmethod
    def size(self, path: str) -> int:
        """The size of `path` in bytes."""

    def read(self, path: str, limit: int = MAX_METADATA_SIZE) -> bytes:
        """The whole content of a small file (manifest, config)."""
        if self.size(path) > limit:
            raise SourceError(f"{self.name}: {path} is larger than {limit} bytes")
        with self.open(path) as stream:
            return stream.read()

    def close(self) -> None:  # noqa: B027 - directories hold nothing open
        """Release the underlying file."""


class TarStore(BlobStore):
    """Files of an (uncompressed or gzip) tar archive, read in place."""

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        try:
            self._tar = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by close()
            members = self._tar.getmembers()
        except (OSError, tarfile.TarError, EOFError) as e:
            reason = str(e).splitlines()[0].rstrip(":")  # tarfile lists each method tried below
            raise SourceError(f"{path}: not a readable tar archive ({reason})") from e
        self._members = {_norm(m.name): m for m in members if m.isfile()}
        for link in members:  # podman's docker-archive links <id>/layer.tar to <hex>.tar
            if link.issym():
                target = posixpath.normpath(
                    posixpath.join(posixpath.dirname(_norm(link.name)), link.linkname)
                )
                if target in self._members:
                    self._members.setdefault(_norm(link.name), self._members[target])

    def exists(self, path: str) -> bool:
        """True when the archive holds `path` as a regular file."""
        return _norm(path) in self._members

    def _member(self, path: str) -> tarfile.TarInfo:
        try:
            return self._members[_norm(path)]
        except KeyError:
            raise SourceError(f"{self.name}: {path} is missing from the archive") from None

    def open(self, path: str) -> BinaryIO:
        """A stream over one member (no extraction)."""
        stream = self._tar.extractfile(self._member(path))
        if stream is None:
            raise SourceError(f"{self.name}: {path} is not a regular file")
        return stream  # type: ignore[return-value]

    def size(self, path: str) -> int:
        """The member's size."""
        return self._member(path).size

    def close(self) -> None:
        """Close the archive."""
        self._tar.close()


class DirStore(BlobStore):
    """Files of a directory (an OCI layout on disk)."""

    def __init__(self, root: Path) -> None:
        self.name = str(root)
        self._root = root

    def _path(self, path: str) -> Path:
        rel = PurePosixPath(_norm(path))
        if rel.is_absolute() or ".." in rel.parts:
            raise SourceError(f"{self.name}: refusing path {path!r} outside the layout")
        return self._root / rel

    def exists(self, path: str) -> bool:
        """True when the directory holds `path`."""
        return self._path(path).is_file()

    def open(self, path: str) -> BinaryIO:
        """The file opened for reading."""
        try:
            return self._path(path).open("rb")  # noqa: SIM115 - the caller closes it
        except OSError as e:
            raise SourceError(f"{self.name}: cannot open {path} ({e.strerror})") from e

    def size(self, path: str) -> int:
        """The file's size."""
        try:
            return self._path(path).stat().st_size
        except OSError as e:
            raise SourceError(f"{self.name}: {path} is missing ({e.strerror})") from e


def _norm(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


def blob_path(digest: str) -> str:
    """Where an OCI layout keeps the blob named `digest` (algorithm:hex)."""
    algorithm, sep, hexdigest = digest.partition(":")
    if not sep or not hexdigest.isalnum() or not algorithm.isalnum():
        raise SourceError(f"malformed digest {digest!r}")
    return f"blobs/{algorithm}/{hexdigest}"


def check_digest(data: bytes, digest: str, what: str) -> None:
    """Raise DigestMismatchError when `data` does not hash to `digest` (sha256/512 only)."""
    algorithm, _, expected = digest.partition(":")
    if algorithm not in ("sha256", "sha512"):
        return
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != expected:
        raise DigestMismatchError(f"{what}: content hashes to {algorithm}:{actual}, not {digest}")


class VerifyingReader:
    """Wraps a blob stream; at EOF checks that what was read hashes to the expected digest."""

    def __init__(self, stream: Readable, digest: str, what: str) -> None:
        algorithm, _, self._expected = digest.partition(":")
        self._hash = hashlib.new(algorithm) if algorithm in ("sha256", "sha512") else None
        self._stream = stream
        self._what = what
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        """Read and hash; at EOF verify."""
        data = self._stream.read(size)
        if self._hash is not None:
            if data:
                self._hash.update(data)
            elif size != 0:
                self._verify()
        return data

    def _verify(self) -> None:
        assert self._hash is not None
        actual = self._hash.hexdigest()
        self._hash = None
        if actual != self._expected:
            raise DigestMismatchError(
                f"{self._what}: blob hashes to {actual}, not {self._digest} (corrupt or tampered)"
            )

    def close(self) -> None:
        """Close the underlying stream."""
        self._stream.close()
