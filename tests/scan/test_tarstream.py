"""The forward-only tar reader agrees with tarfile on GNU, ustar and PAX archives."""

from __future__ import annotations

import io
import tarfile

import pytest

from stockade.scan.errors import LayerError
from stockade.scan.prefetch import PrefetchReader
from stockade.scan.tarstream import TarStream

LONG = "deep/" + "d" * 120 + "/" + "f" * 90 + ".txt"


def _archive(fmt: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for name, data in (("a.txt", b"alpha"), (LONG, b"long name"), ("e", b"")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
        for name, kind, link in (
            ("dir", tarfile.DIRTYPE, ""),
            ("s", tarfile.SYMTYPE, "a.txt"),
            ("h", tarfile.LNKTYPE, "a.txt"),
            ("sl", tarfile.SYMTYPE, "t/" * 60 + "x"),
        ):
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = link
            tar.addfile(info)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT], ids=["gnu", "pax"])
def test_entries_match_tarfile(fmt: int) -> None:
    data = _archive(fmt)
    stream = TarStream(io.BytesIO(data))
    seen = []
    for entry in stream:
        content = stream.content() if entry.is_regular else b""
        seen.append((entry.name, entry.size if entry.is_regular else 0, entry.linkname, content))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        expected = [
            (m.name, m.size if m.isreg() else 0, m.linkname,
             tar.extractfile(m).read() if m.isreg() else b"")  # type: ignore[union-attr]
            for m in tar
        ]  # fmt: skip
    assert seen == expected
    assert seen[1][0] == LONG


def test_ustar_prefix_names() -> None:
    buffer = io.BytesIO()
    name = "p" * 80 + "/" + "n" * 60
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    [entry] = list(TarStream(io.BytesIO(buffer.getvalue())))
    assert entry.name == name


def test_garbage_and_truncation_are_layer_errors() -> None:
    with pytest.raises(LayerError, match="checksum"):
        list(TarStream(io.BytesIO(b"x" * 1024)))
    data = _archive(tarfile.PAX_FORMAT)
    stream = TarStream(io.BytesIO(data[:700]))
    with pytest.raises(LayerError, match="truncated"):
        for _ in stream:
            stream.content()


@pytest.mark.parametrize("chunk_size", [7, 512, 4096], ids=["7", "512", "4096"])
def test_entries_through_the_read_ahead_thread(chunk_size: int) -> None:
    data = _archive(tarfile.PAX_FORMAT)
    direct = TarStream(io.BytesIO(data))
    # a.txt's data is left unread: the next entry skips it (without copying, ahead)
    expected = [(e.name, direct.content() if e.name == LONG else b"") for e in direct]
    reader = PrefetchReader(io.BytesIO(data), chunk_size=chunk_size)
    ahead = TarStream(reader)
    try:
        assert [(e.name, ahead.content() if e.name == LONG else b"") for e in ahead] == expected
    finally:
        reader.close()


def _with_size_field(field: bytes) -> bytes:
    """A one-file ustar archive (content "alpha") whose size field is spelt `field`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("a.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"alpha"))
    data = bytearray(buffer.getvalue())
    data[124:136] = field
    data[148:156] = b" " * 8
    data[148:156] = b"%06o\0 " % sum(data[:512])
    return bytes(data)


@pytest.mark.parametrize(
    "field",
    [
        b"00000000005\0",
        b"00000000005 ",
        b"5\0\0\0\0\0\0\0\0\0\0\0",
        b"          5\0",
        b"\x80" + (5).to_bytes(11, "big"),
    ],
    ids=["nul-terminated", "space-terminated", "short", "space-padded", "base-256"],
)
def test_size_field_spellings(field: bytes) -> None:
    stream = TarStream(io.BytesIO(_with_size_field(field)))
    [(entry, content)] = [(e, stream.content()) for e in stream]
    assert (entry.name, entry.size, content) == ("a.txt", 5, b"alpha")
