"""Find a Go binary's build info without loading the binary: by seeking, or by streaming.

The build info is a 32-byte header ("\\xff Go buildinf:", 16-aligned) followed by the Go
version and the module list as length-prefixed strings (Go 1.18+). ELF binaries keep it
in the `.go.buildinfo` section (else at the start of the first writable segment), so a
file on disk is read at a few offsets; anything else (or a layer's forward-only stream)
is scanned chunk by chunk in bounded memory.
"""

from __future__ import annotations

import struct

from stockade.scan.analyzers.base import SkippedFile
from stockade.scan.files import RandomAccess, Readable

MAGIC = b"\xff Go buildinf:"
ALIGN = 16
HEADER_SIZE = 32
FLAG_INLINE_STRINGS = 0x2
SEARCH_WINDOW = 64 * 1024  # Go looks this far from the start of the data
CHUNK = 1024 * 1024
MAX_STRING = 16 * 1024 * 1024  # a module list larger than this is not a real one
ELF_MAGIC = b"\x7fELF"
PT_LOAD, PF_W = 1, 0x2


class BuildInfoTooLarge(SkippedFile):
    """The build info announces a module list past MAX_STRING bytes."""


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def _needed(block: bytes) -> int:
    """How many bytes from the header on hold both strings; -1 while the lengths are cut
    off, 0 when there is nothing more to read (an older layout or a broken header)."""
    if len(block) >= ALIGN and not block[15] & FLAG_INLINE_STRINGS:
        return 0
    try:
        length, pos = _uvarint(block, HEADER_SIZE)
        length2, pos2 = _uvarint(block, pos + length)
    except ValueError:
        return -1 if len(block) < 4096 else 0  # the version string is a few bytes
    if length > MAX_STRING or length2 > MAX_STRING:
        raise BuildInfoTooLarge(
            f"its Go build info announces {max(length, length2)} bytes, over {MAX_STRING}"
        )
    return pos2 + length2


def decode(block: bytes) -> tuple[str, str] | None:
    """(Go version, module info text) from bytes starting at the header; None if pre-1.18."""
    if len(block) < HEADER_SIZE or not block[15] & FLAG_INLINE_STRINGS:
        return None  # pre-1.18 layout keeps pointers into the data segment
    try:
        length, pos = _uvarint(block, HEADER_SIZE)
        version = block[pos : pos + length].decode("utf-8", "replace")
        length, pos = _uvarint(block, pos + length)
    except ValueError:
        return None
    modinfo = block[pos : pos + length]
    if len(modinfo) >= 33 and modinfo[-17:-16] == b"\n":
        modinfo = modinfo[16:-16]  # strip the sentinel blocks around the text
    return version, modinfo.decode("utf-8", "replace")


def _aligned_magic(data: bytes, base: int, start: int = 0) -> int:
    """Index in `data` of the first magic at a 16-aligned file offset (`base` + index)."""
    at = data.find(MAGIC, start)
    while at != -1 and (base + at) % ALIGN:
        at = data.find(MAGIC, at + 1)
    return at


def _complete(first: bytes, more: Readable) -> bytes:
    """The header block with both strings, reading from `more` as far as they need."""
    block = first
    while True:
        need = _needed(block)
        if need == 0 or 0 < need <= len(block):
            return block
        chunk = more.read(max(need - len(block), CHUNK) if need > 0 else CHUNK)
        if not chunk:
            return block
        block += chunk


def from_stream(stream: Readable, head: bytes = b"") -> bytes | None:
    """The build info block of a forward-only stream (whose first bytes, already read, are
    `head`), in bounded memory; None if absent."""
    base, tail = 0, b""
    while True:
        chunk, head = head or stream.read(CHUNK), b""
        if not chunk:
            return None
        data = tail + chunk
        at = _aligned_magic(data, base)
        if at != -1:
            return _complete(data[at:], stream)
        keep = len(MAGIC) - 1  # a magic cut by the chunk boundary is found next time
        base += len(data) - keep
        tail = data[-keep:]


def _elf_data_offset(handle: RandomAccess) -> int | None:
    """File offset of `.go.buildinfo` (else of the first writable segment); None if not ELF64/32."""
    handle.seek(0)
    ident = handle.read(64)
    if len(ident) < 52 or not ident.startswith(ELF_MAGIC) or ident[4] not in (1, 2):
        return None
    is64, endian = ident[4] == 2, "<" if ident[5] == 1 else ">"
    if is64:
        phoff, shoff = struct.unpack_from(endian + "QQ", ident, 32)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(endian + "5H", ident, 54)
    else:
        phoff, shoff = struct.unpack_from(endian + "II", ident, 28)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(endian + "5H", ident, 42)
    if (phentsize, shentsize) != ((56, 64) if is64 else (32, 40)):
        return None
    sections = _read_at(handle, shoff, shentsize * shnum) if shoff and shnum else b""
    if shstrndx < shnum and len(sections) == shentsize * shnum:
        found = _section_offset(handle, sections, shentsize, shstrndx, is64, endian)
        if found is not None:
            return found
    return _writable_segment(_read_at(handle, phoff, phentsize * phnum), phentsize, is64, endian)


def _read_at(handle: RandomAccess, offset: int, size: int) -> bytes:
    handle.seek(offset)
    return handle.read(size)


def _section_offset(
    handle: RandomAccess, table: bytes, entsize: int, strndx: int, is64: bool, endian: str
) -> int | None:
    fmt = endian + ("I4x8x8xQQ" if is64 else "I4x4x4xII")  # name, (type, flags, addr), offset, size

    def entry(index: int) -> tuple[int, int, int]:
        name, offset, size = struct.unpack_from(fmt, table, index * entsize)
        return name, offset, size

    _, str_offset, str_size = entry(strndx)
    names = _read_at(handle, str_offset, min(str_size, 1024 * 1024))
    for index in range(len(table) // entsize):
        name_at, offset, _ = entry(index)
        if names[name_at : name_at + 14] == b".go.buildinfo\0":
            return int(offset)
    return None


def _writable_segment(table: bytes, entsize: int, is64: bool, endian: str) -> int | None:
    for at in range(0, len(table) - entsize + 1, entsize):
        if is64:
            kind, flags, offset = struct.unpack_from(endian + "IIQ", table, at)
        else:
            kind, offset, _vaddr, _paddr, _filesz, _memsz, flags = struct.unpack_from(
                endian + "7I", table, at
            )
        if kind == PT_LOAD and flags & PF_W:
            return int(offset)
    return None


def from_file(handle: RandomAccess) -> bytes | None:
    """The build info block of a seekable file: seeking on ELF, streaming otherwise."""
    offset = _elf_data_offset(handle)
    if offset is None:
        handle.seek(0)
        return from_stream(handle)
    window = _read_at(handle, offset, SEARCH_WINDOW)
    at = _aligned_magic(window, offset)
    if at == -1:
        return None
    return _complete(window[at:], handle)
