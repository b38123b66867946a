"""Digests of the files a walk meets, taken while analyzers read them (for SBOMs).

SPDX wants a SHA-1 for every file and package databases record MD5 (dpkg) or SHA-256
(Python's RECORD) at best, so an SBOM scan hashes each regular file as the walk passes it:
content read into memory is hashed as is, a stream is hashed as the analyzers read it and
the rest read through afterwards; nothing is read a second time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from stockade.scan.files import RandomAccess, Readable

if TYPE_CHECKING:
    from hashlib import _Hash

CHUNK = 1024 * 1024


class FileDigest(msgspec.Struct, frozen=True, array_like=True):
    """A file's SHA-1 and SHA-256, in hex."""

    sha1: str
    sha256: str


class _Hashers:
    def __init__(self) -> None:
        import hashlib  # OpenSSL loads only in scans that hash files

        self.sha1: _Hash = hashlib.sha1(usedforsecurity=False)
        self.sha256: _Hash = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self.sha1.update(data)
        self.sha256.update(data)

    def digest(self) -> FileDigest:
        return FileDigest(self.sha1.hexdigest(), self.sha256.hexdigest())


def of_bytes(content: bytes) -> FileDigest:
    """The digests of content in memory."""
    hashers = _Hashers()
    hashers.update(content)
    return hashers.digest()


class HashingReader:
    """A forward stream that hashes what is read through it; `finish` reads the rest."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self._hashers = _Hashers()

    def read(self, size: int = -1, /) -> bytes:
        """Up to `size` bytes of the stream, hashed on the way."""
        data = self._stream.read(size)
        self._hashers.update(data)
        return data

    def close(self) -> None:
        """The walk owns the underlying stream: nothing to release here."""

    def finish(self) -> FileDigest:
        """The digests of the whole stream, reading what the analyzers left."""
        while data := self._stream.read(CHUNK):
            self._hashers.update(data)
        return self._hashers.digest()


def of_seekable(stream: RandomAccess) -> FileDigest:
    """The digests of a file on disk, read from its start (analyzers may have sought)."""
    stream.seek(0)
    hashers = _Hashers()
    while data := stream.read(CHUNK):
        hashers.update(data)
    return hashers.digest()


class Digesting:
    """A file's content as analyzers get it, and its digests once they are done."""

    def __init__(self, content: bytes | Readable) -> None:
        self.content: bytes | Readable = content
        if not isinstance(content, bytes) and not isinstance(content, RandomAccess):
            self.content = HashingReader(content)

    def finish(self) -> FileDigest | None:
        """The digests of the whole file; None when a file on disk cannot be read (a
        layer's stream failing is the layer's error, raised as the walk raises it)."""
        content = self.content
        if isinstance(content, bytes):
            return of_bytes(content)
        if isinstance(content, HashingReader):
            return content.finish()
        try:
            return of_seekable(content)  # type: ignore[arg-type]  # neither bytes nor forward
        except OSError:
            return None
