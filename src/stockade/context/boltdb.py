"""A read-only reader of bbolt files (Go's B+tree key/value store), for podman's state.

Podman 4 keeps each container's runtime state, with the network status its backend
(netavark or CNI) returned, in `libpod/bolt_state.db`. No maintained Python library
reads bbolt, and its on-disk format is small: two meta pages (the newest valid one
names the root bucket), branch pages (keys and child pages) and leaf pages (keys and
values; a value flagged as a bucket holds that bucket's root page, or the bucket itself
inline when it is small). The file is mapped read-only, not copied: only the pages a
lookup visits are paged in, so an 8 MB database no longer costs 8 MB of the agent's heap
per read. A writer may rewrite pages meanwhile, so any inconsistency is reported as
`BoltError` and the caller reads again later (bbolt only ever grows its file, so a mapped
page never vanishes under the reader).
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterator
from pathlib import Path

from stockade.context.runtime import ContextError

_PAGE = struct.Struct("<QHHI")  # id, flags, count, overflow
_META = struct.Struct("<IIIIQQQQQQ")  # magic, version, page size, flags, root, seq, ..., txid, sum
_BRANCH = struct.Struct("<IIQ")  # pos, key size, child page
_LEAF = struct.Struct("<IIII")  # flags, pos, key size, value size
_MAGIC = 0xED0CDAED
_BRANCH_PAGE, _LEAF_PAGE = 0x01, 0x02
_BUCKET_VALUE = 0x01
_MAX_DEPTH = 32  # a real tree is a few levels deep; more means pages changed under us


class BoltError(ContextError):
    """A bbolt file could not be read consistently (missing, not bbolt, or being rewritten)."""


class BoltFile:
    """One bbolt file, mapped; `get(bucket, ..., key)` reads a value by its path."""

    def __init__(self, data: bytes | mmap.mmap) -> None:
        self._data = data
        self._page_size, self._root = _newest_meta(data)

    @classmethod
    def read(cls, path: Path) -> BoltFile:
        """Map the file at `path` read-only (unmapped when the BoltFile is dropped)."""
        try:
            with path.open("rb") as file:
                return cls(_mapped(file.fileno()))
        except OSError as e:
            raise BoltError(f"{path}: cannot read: {e.strerror}") from e

    def get(self, *path: bytes) -> bytes | None:
        """The value at buckets path[:-1], key path[-1]; None when any part is missing."""
        page = self._page_at(self._root)
        for name in path[:-1]:
            found = self._find(page, name)
            if found is None or not found[1]:
                return None
            page = self._bucket_page(found[0])
        found = self._find(page, path[-1])
        return None if found is None or found[1] else found[0]

    def _find(self, page: memoryview, key: bytes) -> tuple[bytes, bool] | None:
        """(value, is a bucket) of `key` below `page`."""
        for found, value, is_bucket in self._items(page, 0):
            if found == key:
                return value, is_bucket
        return None

    def _items(self, page: memoryview, depth: int) -> Iterator[tuple[bytes, bytes, bool]]:
        """Every (key, value, is a bucket) of the tree rooted at `page`, in key order."""
        if depth > _MAX_DEPTH:
            raise BoltError("bbolt tree deeper than expected: pages changed while reading")
        _, flags, count, _ = _PAGE.unpack_from(page)
        for i in range(count):
            at = _PAGE.size + i * _LEAF.size
            if flags & _BRANCH_PAGE:
                _, _, child = _BRANCH.unpack_from(page, at)
                yield from self._items(self._page_at(child), depth + 1)
            elif flags & _LEAF_PAGE:
                kind, pos, ksize, vsize = _LEAF.unpack_from(page, at)
                key = bytes(page[at + pos : at + pos + ksize])
                value = bytes(page[at + pos + ksize : at + pos + ksize + vsize])
                yield key, value, bool(kind & _BUCKET_VALUE)
            else:
                raise BoltError(f"bbolt page of unexpected kind {flags:#x}")

    def _bucket_page(self, value: bytes) -> memoryview:
        """The root page of a bucket from its value: a page number, or the page inline."""
        if len(value) < 16:
            raise BoltError("bbolt bucket value too short")
        root = int.from_bytes(value[:8], "little")
        return memoryview(value)[16:] if root == 0 else self._page_at(root)

    def _page_at(self, number: int) -> memoryview:
        """Page `number` with its overflow pages."""
        start = number * self._page_size
        if start + _PAGE.size > len(self._data):
            raise BoltError(f"bbolt page {number} past the end of the file")
        overflow = _PAGE.unpack_from(self._data, start)[3]
        return memoryview(self._data)[start : start + (overflow + 1) * self._page_size]


def _mapped(fd: int) -> bytes | mmap.mmap:
    """The file `fd` mapped read-only; b"" when it is empty (an empty file cannot be mapped)."""
    if os.fstat(fd).st_size == 0:
        return b""
    return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)


def _newest_meta(data: bytes | mmap.mmap) -> tuple[int, int]:
    """(page size, root bucket page) of the valid meta page with the highest txid."""
    first = _meta(data, 0)
    # meta page 1 follows page 0; the page size is in a valid page 0 (else the usual 4 KiB)
    second = _meta(data, first[1] if first else 4096)
    valid = [m for m in (first, second) if m is not None]
    if not valid:
        raise BoltError("not a bbolt file (no valid meta page)")
    _, page_size, root = max(valid)
    return page_size, root


def _meta(data: bytes | mmap.mmap, offset: int) -> tuple[int, int, int] | None:
    """(txid, page size, root bucket page) of the meta page at `offset`, if valid."""
    at = offset + _PAGE.size
    if at + _META.size > len(data):
        return None
    magic, version, size, _, root, _, _, _, txid, checksum = _META.unpack_from(data, at)
    if magic != _MAGIC or version != 2 or checksum != _fnv1a(data[at : at + 56]):
        return None
    return txid, size, root


def _fnv1a(data: bytes) -> int:
    """64-bit FNV-1a, bbolt's meta page checksum."""
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value
