"""The zip reader for the few entries analyzers want: what it reads is exactly what
zipfile reads, and it hands anything it is not sure about back (None) to zipfile."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pytest

from stockade.scan.analyzers.zipindex import CorruptEntry, ZipSource, read_entry, wanted_entries
from tests.support.ci import require

PREFIXES = (b"META-INF/maven/", b"META-INF/MANIFEST.MF")
SUFFIXES = (b".jar", b".war")
M2 = Path.home() / ".m2" / "repository"


def _zip(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _by_zipfile(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            info.filename: archive.read(info)
            for info in archive.infolist()
            if info.filename.startswith(("META-INF/maven/", "META-INF/MANIFEST.MF"))
            or info.filename.endswith((".jar", ".war"))
        }


def _by_index(data: bytes) -> dict[str, bytes] | None:
    """The wanted entries read from memory, checked against the same read from a file."""
    source = ZipSource.of_bytes(data)
    entries = wanted_entries(source, PREFIXES, SUFFIXES)
    on_disk = _from_file(data)
    if entries is None:
        assert on_disk is None
        return None
    found = {entry.name: read_entry(source, entry) for entry in entries}
    assert on_disk == found
    return found


def _from_file(data: bytes) -> dict[str, bytes] | None:
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        source = ZipSource.of_file(handle)
        entries = wanted_entries(source, PREFIXES, SUFFIXES)
        if entries is None:
            return None
        return {entry.name: read_entry(source, entry) for entry in entries}


FILES = {
    "META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\n",
    "META-INF/maven/org.x/a/pom.properties": b"groupId=org.x\nartifactId=a\nversion=1\n",
    "META-INF/services/x": b"not wanted",
    "org/x/A.class": b"\xca\xfe\xba\xbe" * 100,
    "lib/inner.jar": b"PK not really",
    "lib/inner.jar.sha1": b"0" * 40,
    "docs/a.jar/readme.txt": b"a directory named like an archive",
    "caf\u00e9/b.war": b"utf-8 name",
}


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_reads_the_wanted_entries_as_zipfile_does(compression: int) -> None:
    data = _zip(FILES, compression)
    assert _by_index(data) == _by_zipfile(data)
    assert list(_by_index(data) or {}) == [
        "META-INF/MANIFEST.MF",
        "META-INF/maven/org.x/a/pom.properties",
        "lib/inner.jar",
        "caf\u00e9/b.war",
    ]


def test_data_before_the_archive_and_a_comment_shift_nothing() -> None:
    buffer = io.BytesIO()
    buffer.write(b'#!/bin/sh\nexec java -jar "$0"\n')  # a self-running jar
    with zipfile.ZipFile(buffer, "a") as archive:
        for name, data in FILES.items():
            archive.writestr(name, data)
        archive.comment = b"built by hand"
    data = buffer.getvalue()
    assert _by_index(data) == _by_zipfile(data)


def test_a_header_signature_inside_a_name_goes_to_zipfile() -> None:
    data = _zip({**FILES, "odd/PK\x01\x02.txt": b"x"})
    assert _by_index(data) is None


def test_zip64_and_other_methods_go_to_zipfile() -> None:
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", allowZip64=True) as archive,
        archive.open("META-INF/MANIFEST.MF", "w", force_zip64=True) as entry,
    ):
        entry.write(b"Manifest-Version: 1.0\r\n")
    assert _by_index(buffer.getvalue()) in (None, _by_zipfile(buffer.getvalue()))
    assert _by_index(_zip(FILES, zipfile.ZIP_BZIP2)) is None
    assert _by_index(b"not a zip at all") is None


def test_a_bad_crc_is_corrupt() -> None:
    data = bytearray(_zip({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\n"}, 0))
    at = data.index(b"Manifest-Version")
    data[at] ^= 0xFF
    source = ZipSource.of_bytes(bytes(data))
    entries = wanted_entries(source, PREFIXES, SUFFIXES)
    assert entries is not None
    with pytest.raises(CorruptEntry):
        read_entry(source, entries[0])
    with pytest.raises(zipfile.BadZipFile):
        _by_zipfile(bytes(data))


def test_real_maven_jars_read_as_zipfile_reads_them() -> None:
    jars = sorted(M2.rglob("*.jar"))[:300] if M2.is_dir() else []
    require(jars, f"jars in {M2}")
    for jar in jars:
        data = jar.read_bytes()
        indexed = _by_index(data)
        assert indexed is None or indexed == _by_zipfile(data), jar
