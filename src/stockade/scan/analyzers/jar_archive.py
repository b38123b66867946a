"""Read a Java archive: Maven coordinates of it and of the archives nested in it.

Nested archives (fat jars, WARs, EARs) are listed with their path inside the outer one
(`app.jar/BOOT-INF/lib/x.jar`); `jar_identity.py` says who each archive is. Imported by
the jar analyzer (`jar.py`) when it meets its first archive or POM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers.jar import ARCHIVE_SUFFIXES
from stockade.scan.analyzers.jar_group import CLASS_PACKAGE, class_package_group
from stockade.scan.analyzers.jar_identity import (
    Coordinates,
    file_name_coordinates,
    manifest_coordinates,
    manifest_main_section,
    pom_properties,
)
from stockade.scan.analyzers.pom import Pom, parse_pom, side_table
from stockade.scan.analyzers.zipindex import CorruptEntry, ZipSource, read_entry, wanted_entries
from stockade.scan.files import RandomAccess

_RAW_ARCHIVE_SUFFIXES = tuple(s.encode() for s in ARCHIVE_SUFFIXES)
IDENTITY_PREFIXES = ("META-INF/maven/", "META-INF/MANIFEST.MF")  # entries saying who it is
_RAW_IDENTITY_PREFIXES = tuple(p.encode() for p in IDENTITY_PREFIXES)
MAX_DEPTH = 3
MAX_NESTED_SIZE = 64 * 1024 * 1024
MAX_TEXT_ENTRY = 1024 * 1024  # a manifest or pom.properties past this is not a real one


def pom_licenses(pom: str) -> tuple[str, ...]:
    """The licences a pom.xml declares (`<licenses><license><name>`), as SPDX ids where the
    name is certain ("The Apache Software License, Version 2.0" -> Apache-2.0)."""
    parsed = parse_pom(pom)
    return parsed.licenses if parsed is not None else ()


def _package(found: Coordinates, path: str, pom: Pom | None = None) -> Package:
    return Package(
        name=found.name,
        version=found.version,
        ecosystem=Ecosystem.MAVEN,
        path=path,
        group_source=found.group_source,
        licenses=pom.licenses if pom is not None else (),
        requires=pom.dependencies if pom is not None else (),
    )


def _is_own(found: Coordinates, file_name: str, poms: list[Coordinates]) -> bool:
    """True when a pom.properties describes the archive itself, not a bundled dependency."""
    from_name = file_name_coordinates(file_name, tuple(p.version for p in poms))
    if from_name is None:
        return len(poms) == 1  # `app.jar`: a lone pom.properties is the app's
    return found.artifact == from_name[0]


@dataclass(frozen=True, slots=True)
class _Member:
    """An entry of an archive that may say who it is, or is an archive itself."""

    name: str
    file_size: int
    read: Callable[[], bytes]


def archive_packages(
    data: bytes,
    path: str,
    depth: int = 0,
    skipped: list[str] | None = None,
    poms: dict[str, list[str]] | None = None,
) -> list[Package]:
    """Packages of one archive and the archives nested in it (duplicates dropped); nested
    archives left unread (too large, too deep) are named in `skipped`, and the licences and
    parents of every embedded POM go into `poms` (see `pom.side_table`)."""
    return _archive_packages(ZipSource.of_bytes(data), path, depth, skipped, poms)


def file_archive_packages(
    handle: RandomAccess,
    path: str,
    skipped: list[str] | None = None,
    poms: dict[str, list[str]] | None = None,
) -> list[Package]:
    """archive_packages of an archive on disk, reading only what names it (and nested ones)."""
    return _archive_packages(ZipSource.of_file(handle), path, 0, skipped, poms)


def _archive_packages(
    source: ZipSource,
    path: str,
    depth: int,
    skipped: list[str] | None,
    poms: dict[str, list[str]] | None,
) -> list[Package]:
    skipped = [] if skipped is None else skipped
    poms = {} if poms is None else poms
    entries = wanted_entries(source, _RAW_IDENTITY_PREFIXES, _RAW_ARCHIVE_SUFFIXES)
    if entries is None:  # zip64, another compression method, a damaged end record
        return _with_zipfile(source, path, depth, skipped, poms)
    members = [_Member(e.name, e.file_size, partial(read_entry, source, e)) for e in entries]
    classes = partial(_class_names, source)
    return _packages(members, classes, path, depth, (skipped, poms), (CorruptEntry,))


def _class_names(source: ZipSource) -> list[str]:
    """The names of the archive's .class entries (read again from its central directory:
    only archives nothing else names a group for need them)."""
    entries = wanted_entries(source, (b"META-INF/MANIFEST.MF",), (b".class",)) or []
    return [e.name for e in entries]


def _with_zipfile(
    source: ZipSource, path: str, depth: int, skipped: list[str], poms: dict[str, list[str]]
) -> list[Package]:
    """archive_packages through zipfile, which reads every kind of archive it can."""
    import io
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(source.read_at(0, source.size)))
    except (zipfile.BadZipFile, OSError, ValueError):
        return []
    with archive:
        members = [
            _Member(info.filename, info.file_size, partial(archive.read, info))
            for info in archive.infolist()
            if info.filename.startswith(IDENTITY_PREFIXES)
            or info.filename.endswith(ARCHIVE_SUFFIXES)
        ]
        corrupt = (zipfile.BadZipFile, OSError, ValueError, EOFError)
        return _packages(members, archive.namelist, path, depth, (skipped, poms), corrupt)


def _packages(
    members: list[_Member],
    class_names: Callable[[], list[str]],
    path: str,
    depth: int,
    out: tuple[list[str], dict[str, list[str]]],  # what was skipped, the POMs' side table
    corrupt: tuple[type[Exception], ...],
) -> list[Package]:
    skipped, poms = out
    try:
        found = _own_and_bundled(members, class_names, path, poms)
        found += _nested(members, path, depth, skipped, poms)
    except corrupt:
        return []  # corrupt entries (bad CRC, truncated data): nothing to trust
    unique: dict[tuple[str, str, str], Package] = {}
    for package in found:
        unique.setdefault((package.name, package.version, package.path), package)
    return list(unique.values())


def _text(member: _Member) -> str:
    if member.file_size > MAX_TEXT_ENTRY:
        return ""
    return member.read().decode("utf-8", "replace")


def _own_and_bundled(
    members: list[_Member],
    class_names: Callable[[], list[str]],
    path: str,
    table: dict[str, list[str]],
) -> list[Package]:
    poms: list[Coordinates] = []
    pom_files: dict[str, Pom] = {}  # by META-INF/maven/<g>/<a>/ directory
    manifest: dict[str, str] = {}
    for member in members:
        name = member.name
        if name.startswith("META-INF/maven/") and name.endswith("/pom.properties"):
            coordinates = pom_properties(_text(member), name)
            if coordinates is not None:
                poms.append(coordinates)
        elif name.startswith("META-INF/maven/") and name.endswith("/pom.xml"):
            pom = parse_pom(_text(member))
            if pom is not None:
                pom_files[name.rsplit("/", 1)[0]] = pom
                table.update(side_table(pom))
        elif name == "META-INF/MANIFEST.MF":
            manifest = manifest_main_section(_text(member))
    file_name = path.rsplit("/", 1)[-1]
    found = [
        _package(p, path, pom_files.get(f"META-INF/maven/{p.group}/{p.artifact}")) for p in poms
    ]
    if not any(_is_own(p, file_name, poms) for p in poms):
        own = manifest_coordinates(manifest, path)
        if own is not None and not own.group and (group := class_package_group(class_names())):
            own = replace(own, group=group, group_source=CLASS_PACKAGE)
        if own is not None:
            found.append(_package(own, path))
    return found


def _nested(
    members: list[_Member],
    path: str,
    depth: int,
    skipped: list[str],
    poms: dict[str, list[str]],
) -> list[Package]:
    found: list[Package] = []
    for entry in members:
        if not entry.name.endswith(ARCHIVE_SUFFIXES):
            continue
        nested_path = f"{path}/{entry.name}"
        if depth >= MAX_DEPTH:
            skipped.append(f"{nested_path}: not read (nested deeper than {MAX_DEPTH} archives)")
        elif entry.file_size >= MAX_NESTED_SIZE:
            skipped.append(
                f"{nested_path}: not read ({entry.file_size} bytes, over the "
                f"{MAX_NESTED_SIZE // (1024 * 1024)} MiB limit of nested archives)"
            )
        else:
            found.extend(archive_packages(entry.read(), nested_path, depth + 1, skipped, poms))
    return found
