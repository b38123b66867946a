"""A forward-only tar reader for layer streams: ustar, GNU and PAX headers, nothing extracted.

tarfile parses a header in ~50 µs and keeps every member; layers hold tens of thousands of
entries, so this reader decodes only the fields a scan needs and forgets each entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

import msgspec

from stockade.scan.errors import LayerError
from stockade.scan.files import Readable

BLOCK = 512
REGULAR, HARDLINK, SYMLINK = b"0", b"1", b"2"
PAX_LOCAL, PAX_GLOBAL, GNU_LONGNAME, GNU_LONGLINK, GNU_SPARSE = b"x", b"g", b"L", b"K", b"S"
MAX_META = 1024 * 1024  # long names and PAX records beyond this are hostile
ZERO_BLOCK = bytes(BLOCK)


class TarEntry(msgspec.Struct, frozen=True):
    """One archive member as the walker needs it."""

    # a Struct: made for every entry of every layer, it is built ~9x faster than a frozen
    # dataclass

    name: str
    kind: bytes  # REGULAR, HARDLINK, SYMLINK or another tar type flag
    size: int  # apparent size (the real size of a sparse file)
    mode: int
    linkname: str = ""
    sparse: bool = False

    @property
    def is_regular(self) -> bool:
        """A regular file (old tars write NUL or 7 as the type)."""
        return self.kind in (REGULAR, b"\0", b"7")


@runtime_checkable
class Skippable(Readable, Protocol):
    """A stream that can pass over bytes without handing them out (`PrefetchReader`)."""

    def skip(self, size: int, /) -> int:
        """Pass over up to `size` bytes; how many were passed (fewer only at the end)."""
        ...


def _number(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:  # GNU base-256 for sizes past 8 GiB
        return int.from_bytes(field[1:], "big")
    text = field.partition(b"\0")[0].strip()
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise LayerError(f"bad number {field!r} in a tar header") from None


def _octal(field: bytes) -> int:
    """`_number`, parsed at once when the field is the usual octal digits and a terminator."""
    if field[-1] in (0, 32):
        try:
            return int(field[:-1], 8)
        except ValueError:
            pass  # padded with NULs, base-256, empty: the careful parse
    return _number(field)


def _text(field: bytes) -> str:
    return field.partition(b"\0")[0].decode("utf-8", "surrogateescape")


def _checksum_ok(header: bytes) -> bool:
    try:
        stored = _number(header[148:156])
    except LayerError:
        return False
    unsigned = sum(header[:148]) + 8 * 32 + sum(header[156:])
    return stored == unsigned


def _pax_records(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space == -1:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            raise LayerError("malformed PAX record in a tar header") from None
        if length <= 0:
            raise LayerError("malformed PAX record length in a tar header")
        key, _, value = data[space + 1 : pos + length - 1].partition(b"=")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


class TarStream:
    """Iterate entries of a tar stream; `content()` reads the current entry's data."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self._left = 0  # data bytes of the current entry not read yet
        self._padding = 0
        # most of a layer's bytes belong to files nobody reads: never copy them
        self._pass_over: Callable[[int], int] | None = (
            stream.skip if isinstance(stream, Skippable) else None
        )

    def _read_exact(self, size: int) -> bytes:
        data = self._stream.read(size)
        if len(data) != size:
            raise LayerError(f"truncated tar stream (wanted {size} bytes, got {len(data)})")
        return data

    def _skip(self, size: int) -> None:
        if self._pass_over is not None:
            if size and self._pass_over(size) != size:
                raise LayerError("truncated tar stream while skipping file data")
            return
        while size > 0:
            chunk = self._stream.read(min(size, 1024 * 1024))
            if not chunk:
                raise LayerError("truncated tar stream while skipping file data")
            size -= len(chunk)

    def content(self) -> bytes:
        """The data of the entry just yielded (read once)."""
        data = self._read_exact(self._left)
        self._left = 0
        return data

    def read(self, size: int = -1, /) -> bytes:
        """Up to `size` more bytes of the current entry's data (all that is left for -1)."""
        size = self._left if size < 0 else min(size, self._left)
        data = self._stream.read(size) if size else b""
        if len(data) != size:
            raise LayerError(f"truncated tar stream (wanted {size} bytes, got {len(data)})")
        self._left -= size
        return data

    def close(self) -> None:
        """Nothing to release: the rest of the entry is skipped when iteration goes on."""

    def _meta(self, size: int) -> bytes:
        if size > MAX_META:
            raise LayerError(f"tar metadata entry of {size} bytes is too large")
        data = self._read_exact(size)
        self._skip(-size % BLOCK)
        return data

    def __iter__(self) -> Iterator[TarEntry]:
        pax_global: dict[str, str] = {}
        pax: dict[str, str] = {}
        long_name = long_link = ""
        while True:
            self._skip(self._left + self._padding)
            self._left = self._padding = 0
            header = self._stream.read(BLOCK)
            if len(header) < BLOCK or header == ZERO_BLOCK:
                return  # end of archive (one zero block is enough for a forward reader)
            if header[257:262] != b"ustar" and not _checksum_ok(header):
                raise LayerError("invalid tar header checksum (not a tar stream?)")
            kind = header[156:157]
            size = _octal(header[124:136])
            if kind in (PAX_LOCAL, PAX_GLOBAL):
                records = _pax_records(self._meta(size))
                (pax_global if kind == PAX_GLOBAL else pax).update(records)
                continue
            if kind in (GNU_LONGNAME, GNU_LONGLINK):
                value = _text(self._meta(size))
                long_name, long_link = (
                    (value, long_link) if kind == GNU_LONGNAME else (long_name, value)
                )
                continue
            fields = {**pax_global, **pax} if pax_global else pax  # most entries have none
            entry = self._entry(header, kind, size, fields, long_name, long_link)
            pax, long_name, long_link = {}, "", ""
            yield entry

    def _entry(
        self,
        header: bytes,
        kind: bytes,
        size: int,
        pax: dict[str, str],
        long_name: str,
        long_link: str,
    ) -> TarEntry:
        name = _text(header[0:100])
        if header[257:262] == b"ustar" and header[345:346] != b"\0" and kind != GNU_SPARSE:
            prefix = _text(header[345:500])
            name = f"{prefix}/{name}" if prefix else name
        name = (pax.get("path") or long_name or name).rstrip("/") or name
        linkname = pax.get("linkpath") or long_link
        if not linkname and kind in (HARDLINK, SYMLINK):  # other entries link nowhere
            linkname = _text(header[157:257])
        stored = int(pax["size"]) if "size" in pax else size
        sparse = kind == GNU_SPARSE or (bool(pax) and any(k.startswith("GNU.sparse.") for k in pax))
        apparent = stored
        if kind == GNU_SPARSE:
            apparent = _number(header[483:495])
            if header[482]:  # extended sparse headers follow, each flagged at byte 504
                while self._read_exact(BLOCK)[504]:
                    pass
            kind = REGULAR
        elif sparse:
            name = pax.get("GNU.sparse.name", name)
            apparent = int(pax.get("GNU.sparse.realsize") or pax.get("GNU.sparse.size") or stored)
        has_data = kind not in (HARDLINK, SYMLINK, b"3", b"4", b"5", b"6")
        self._left = stored if has_data else 0
        self._padding = -self._left % BLOCK
        return TarEntry(
            name=name,
            kind=kind,
            size=apparent,
            mode=_octal(header[100:108]),
            linkname=linkname,
            sparse=sparse,
        )
