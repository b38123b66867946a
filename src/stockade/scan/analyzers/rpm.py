"""RPM packages from the SQLite rpmdb (rpmdb.sqlite / Packages.db): header blobs parsed."""

from __future__ import annotations

import struct

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers.base import Analyzer, FileAnalysis, register
from stockade.scan.files import FileInfo

DB_PATHS = frozenset(
    {
        "var/lib/rpm/rpmdb.sqlite",
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
        "var/lib/rpm/Packages.db",
        "usr/lib/sysimage/rpm/Packages.db",
    }
)
SQLITE_MAGIC = b"SQLite format 3\x00"
TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH = 1000, 1001, 1002, 1003
TAG_LICENSE, TAG_ARCH, TAG_SOURCERPM = 1014, 1022, 1044
TYPE_INT32, TYPE_STRING, TYPE_STRING_ARRAY, TYPE_I18NSTRING = 4, 6, 8, 9
WANTED = frozenset({TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_LICENSE, TAG_ARCH})


def parse_header(blob: bytes) -> dict[int, str | int]:
    """The wanted tags of an rpm header blob (index entries + data store, big endian)."""
    if len(blob) < 8:
        raise ValueError("header blob too short")
    count, data_len = struct.unpack_from(">ii", blob, 0)
    data_start = 8 + 16 * count
    if count < 0 or data_len < 0 or data_start + data_len > len(blob):
        raise ValueError("header blob sizes do not fit")
    data = blob[data_start : data_start + data_len]
    tags: dict[int, str | int] = {}
    for i in range(count):
        tag, kind, offset, _ = struct.unpack_from(">iiii", blob, 8 + 16 * i)
        if (tag not in WANTED and tag != TAG_SOURCERPM) or not 0 <= offset < len(data):
            continue
        if kind == TYPE_INT32 and offset + 4 <= len(data):
            tags[tag] = struct.unpack_from(">i", data, offset)[0]
        elif kind in (TYPE_STRING, TYPE_STRING_ARRAY, TYPE_I18NSTRING):
            end = data.find(b"\x00", offset)
            tags[tag] = data[offset : end if end != -1 else len(data)].decode("utf-8", "replace")
    return tags


def _package(tags: dict[int, str | int], path: str) -> Package | None:
    name, version, release = tags.get(TAG_NAME), tags.get(TAG_VERSION), tags.get(TAG_RELEASE)
    if not isinstance(name, str) or not isinstance(version, str) or name == "gpg-pubkey":
        return None
    epoch = tags.get(TAG_EPOCH)
    full = f"{version}-{release}" if release else version
    if isinstance(epoch, int) and epoch:
        full = f"{epoch}:{full}"
    arch = str(tags.get(TAG_ARCH, ""))
    source = str(tags.get(TAG_SOURCERPM, ""))
    license_ = tags.get(TAG_LICENSE)
    return Package(
        name=name,
        version=full,
        ecosystem=Ecosystem.RPM,
        source_name=source.rsplit("-", 2)[0] if source.endswith(".src.rpm") else name,
        arch=arch,
        licenses=(license_,) if isinstance(license_, str) and license_ else (),
        path=path,
    )


def packages_from_sqlite(content: bytes, path: str) -> list[Package]:
    """Packages of an rpmdb.sqlite image held in memory (no temporary file)."""
    import sqlite3  # imported when an rpmdb is met, not at every scan's start

    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(content)
        rows = connection.execute("SELECT blob FROM Packages").fetchall()
    except sqlite3.Error:
        return []
    finally:
        connection.close()
    found = []
    for (blob,) in rows:
        try:
            package = _package(parse_header(bytes(blob)), path)
        except (ValueError, struct.error):
            continue
        if package is not None:
            found.append(package)
    return found


@register
class RpmAnalyzer(Analyzer):
    """Installed packages of Red Hat family images (SQLite rpmdb)."""

    id = "rpm"
    ecosystems = frozenset({Ecosystem.RPM})

    file_names = frozenset(p.rsplit("/", 1)[-1] for p in DB_PATHS)

    def required(self, info: FileInfo) -> bool:
        """The rpmdb files."""
        return info.path in DB_PATHS

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """One Package per header; BerkeleyDB/ndb databases are not read."""
        if not content.startswith(SQLITE_MAGIC):
            return None
        packages = packages_from_sqlite(content, info.path)
        return FileAnalysis(packages=packages) if packages else None
