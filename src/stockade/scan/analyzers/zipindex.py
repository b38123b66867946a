"""The few entries of a zip archive an analyzer wants, found without indexing every entry.

`zipfile.ZipFile` builds a `ZipInfo` object for each entry of the central directory: a
Maven repository's jars hold hundreds of thousands of class files, and indexing them was
most of a scan's time there. This reader finds the wanted entries of the central
directory by their names' prefixes and suffixes with regex and byte searches (when every
header signature in it is a real header: their count is the end record's), and reads
those (stored or deflated, CRC-checked). Whatever it is not sure to read exactly as
`zipfile` would (zip64 sizes, other compression methods, encryption, a damaged end record)
makes `wanted_entries` return None, so the caller falls back to `zipfile`.
"""

from __future__ import annotations

import functools
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from stockade.scan.errors import ScanError
from stockade.scan.files import RandomAccess

_END = struct.Struct("<4s4H2LH")  # end of central directory record
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # one central directory header
_LOCAL = struct.Struct("<4s2B4HL2L2H")  # one local file header
_END_SIG, _END64_LOCATOR_SIG, _END64_SIG = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"
_CENTRAL_SIG, _LOCAL_SIG = b"PK\x01\x02", b"PK\x03\x04"
_MAX_COMMENT = 1 << 16  # where zipfile looks for the end record
_UTF8_NAMES = 0x800
_UNSURE_FLAGS = 0x1 | 0x20 | 0x40  # encrypted, patched data, strong encryption
_MAX_EXTRACT_VERSION = 63
_STORED, _DEFLATED = 0, 8
_ZIP64_MARK = 0xFFFFFFFF


class CorruptEntry(ScanError, ValueError):
    """A wanted entry cannot be read: bad header, truncated or failed its CRC."""


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """One wanted entry: its name and where its data lies in the archive."""

    name: str
    file_size: int
    compress_size: int
    method: int
    crc: int
    header_offset: int
    raw_name: bytes


class ZipSource:
    """An archive's bytes, in memory or in a seekable file, read by offset and length."""

    def __init__(self, size: int, read_at: Callable[[int, int], bytes]) -> None:
        self.size = size
        self.read_at = read_at  # (offset, length) -> up to length bytes

    @classmethod
    def of_bytes(cls, data: bytes) -> ZipSource:
        """An archive held in memory."""
        return cls(len(data), lambda at, length: data[at : at + length] if at >= 0 else b"")

    @classmethod
    def of_file(cls, handle: RandomAccess) -> ZipSource:
        """An archive on disk: only the central directory and wanted entries are read."""

        def read_at(at: int, length: int) -> bytes:
            if at < 0:
                return b""
            handle.seek(at)
            return handle.read(length)

        return cls(handle.seek(0, 2), read_at)


def _end_record(source: ZipSource) -> tuple[int, int, int, int] | None:
    """(central directory start, its size, prefix length, entry count), as zipfile finds
    them; the prefix (data before the archive, as in self-extracting jars) shifts offsets."""
    tail_start = max(0, source.size - _MAX_COMMENT - _END.size)
    tail = source.read_at(tail_start, source.size - tail_start)
    at = len(tail) - _END.size
    if at < 0:
        return None
    if not (tail.startswith(_END_SIG, at) and tail.endswith(b"\x00\x00")):
        at = tail.rfind(_END_SIG)
        if at < 0 or at + _END.size > len(tail):
            return None
    _, disk, _, _, count, size, offset, _ = _END.unpack_from(tail, at)
    at += tail_start
    concat = at - size - offset
    if source.read_at(at - _END64_LOCATOR.size, 4) == _END64_LOCATOR_SIG:
        return None  # a zip64 archive: left to zipfile
    if disk or concat < 0 or offset + concat < 0 or offset + concat + size > source.size:
        return None
    return offset + concat, size, concat, count


@functools.cache
def _name_patterns(
    prefixes: tuple[bytes, ...], suffixes: tuple[bytes, ...]
) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """Where a name may start (a prefix) and where one may end (a suffix)."""
    starts = b"|".join(re.escape(p) for p in prefixes)
    ends = b"|".join(re.escape(s) for s in suffixes)
    return re.compile(starts), re.compile(ends)


def wanted_entries(
    source: ZipSource, prefixes: tuple[bytes, ...], suffixes: tuple[bytes, ...]
) -> list[ZipEntry] | None:
    """The entries whose raw name starts with one of `prefixes` or ends with one of
    `suffixes`, in archive order; None when unsure (the caller then uses zipfile)."""
    found = _end_record(source)
    if found is None:
        return None
    start, size, shift, count = found
    data = source.read_at(start, size)  # the central directory
    if len(data) != size:
        return None
    if data.count(_CENTRAL_SIG) != count:
        return None  # a signature inside a name or comment: only a full walk can tell
    # every signature is a header now: find the few wanted ones with C-speed searches
    by_prefix, by_suffix = _name_patterns(prefixes, suffixes)
    headers = {
        m.start() - _CENTRAL.size
        for m in by_prefix.finditer(data)
        if m.start() >= _CENTRAL.size and data.startswith(_CENTRAL_SIG, m.start() - _CENTRAL.size)
    }
    for match in by_suffix.finditer(data):
        at = data.rfind(_CENTRAL_SIG, 0, match.start())
        if at >= 0 and at + _CENTRAL.size + _name_length(data, at) == match.end():
            headers.add(at)
    entries = []
    for at in sorted(headers):
        entry = _entry(data, at, size, shift)
        if entry is None:
            return None
        entries.append(entry)
    return entries


def _name_length(data: bytes, at: int) -> int:
    return int.from_bytes(data[at + 28 : at + 30], "little")


def _entry(data: bytes, at: int, end: int, shift: int) -> ZipEntry | None:
    """The central directory entry at `at`; None when zipfile should read it."""
    if at + _CENTRAL.size > end:
        return None
    header = _CENTRAL.unpack_from(data, at)
    name_len, extra_len, comment_len = header[12], header[13], header[14]
    name_start = at + _CENTRAL.size
    after = name_start + name_len + extra_len + comment_len
    if after > end or (after < end and not data.startswith(_CENTRAL_SIG, after)):
        return None  # the directory does not chain through this entry
    flags, method, crc, compress_size, file_size = header[5], header[6], *header[9:12]
    offset = header[18]
    if header[3] > _MAX_EXTRACT_VERSION or flags & _UNSURE_FLAGS:
        return None
    if method not in (_STORED, _DEFLATED) or _ZIP64_MARK in (compress_size, file_size, offset):
        return None
    raw_name = data[name_start : name_start + name_len]
    name = raw_name.decode("utf-8" if flags & _UTF8_NAMES else "cp437")
    return ZipEntry(name, file_size, compress_size, method, crc, offset + shift, raw_name)


def read_entry(source: ZipSource, entry: ZipEntry) -> bytes:
    """The uncompressed content of `entry`; CorruptEntry when it cannot be trusted."""
    at = entry.header_offset
    header = source.read_at(at, _LOCAL.size + len(entry.raw_name))
    if at < 0 or len(header) != _LOCAL.size + len(entry.raw_name):
        raise CorruptEntry(f"{entry.name}: truncated local header")
    local = _LOCAL.unpack_from(header)
    if local[0] != _LOCAL_SIG:
        raise CorruptEntry(f"{entry.name}: bad local header")
    if local[10] != len(entry.raw_name) or header[_LOCAL.size :] != entry.raw_name:
        raise CorruptEntry(f"{entry.name}: names in directory and header differ")
    begin = at + _LOCAL.size + local[10] + local[11]
    packed = source.read_at(begin, entry.compress_size)
    if len(packed) != entry.compress_size:
        raise CorruptEntry(f"{entry.name}: truncated data")
    try:
        content = packed if entry.method == _STORED else zlib.decompress(packed, -15)
    except zlib.error as e:
        raise CorruptEntry(f"{entry.name}: {e}") from e
    if len(content) != entry.file_size or zlib.crc32(content) != entry.crc:
        raise CorruptEntry(f"{entry.name}: bad size or CRC-32")
    return content
