"""Java archives: Maven coordinates of each archive and of the archives nested in it.

Nested archives (fat jars, WARs, EARs) are listed with their path inside the outer one
(`app.jar/BOOT-INF/lib/x.jar`); `jar_identity.py` says who each archive is.
"""

from __future__ import annotations

import re
from html import unescape
from typing import TYPE_CHECKING

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers.base import Analyzer, FileAnalysis, register
from stockade.scan.analyzers.jar_identity import (
    Coordinates,
    file_name_coordinates,
    manifest_coordinates,
    manifest_main_section,
    pom_properties,
)
from stockade.scan.files import FileInfo
from stockade.scan.licenses import spdx_or_name

if TYPE_CHECKING:  # zipfile loads when an archive is met, not at every scan's start
    import zipfile

ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".par")
MAX_DEPTH = 3
MAX_NESTED_SIZE = 64 * 1024 * 1024
MAX_TEXT_ENTRY = 1024 * 1024  # a manifest or pom.properties past this is not a real one


_POM_LICENSES = re.compile(r"<licenses>(.*?)</licenses>", re.DOTALL)
_POM_LICENSE_NAME = re.compile(r"<license>.*?<name>\s*(.*?)\s*</name>", re.DOTALL)


def pom_licenses(pom: str) -> tuple[str, ...]:
    """The licences a pom.xml declares (`<licenses><license><name>`), as SPDX ids where the
    name is certain ("The Apache Software License, Version 2.0" -> Apache-2.0)."""
    block = _POM_LICENSES.search(pom)
    if block is None:
        return ()
    names = (unescape(n) for n in _POM_LICENSE_NAME.findall(block.group(1)))
    return tuple(dict.fromkeys(spdx_or_name(n) for n in names if n and len(n) < 200))


def _package(found: Coordinates, path: str, licenses: tuple[str, ...] = ()) -> Package:
    return Package(
        name=found.name,
        version=found.version,
        ecosystem=Ecosystem.MAVEN,
        path=path,
        licenses=licenses,
    )


def _is_own(found: Coordinates, file_name: str, poms: list[Coordinates]) -> bool:
    """True when a pom.properties describes the archive itself, not a bundled dependency."""
    from_name = file_name_coordinates(file_name, tuple(p.version for p in poms))
    if from_name is None:
        return len(poms) == 1  # `app.jar`: a lone pom.properties is the app's
    return found.artifact == from_name[0]


def archive_packages(
    data: bytes, path: str, depth: int = 0, skipped: list[str] | None = None
) -> list[Package]:
    """Packages of one archive and the archives nested in it (duplicates dropped); nested
    archives left unread (too large, too deep) are named in `skipped`."""
    import io
    import zipfile

    skipped = [] if skipped is None else skipped
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        return []
    with archive:
        try:
            found = _own_and_bundled(archive, path)
            found += _nested(archive, path, depth, skipped)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return []  # corrupt entries (bad CRC, truncated data): nothing to trust
    unique: dict[tuple[str, str, str], Package] = {}
    for package in found:
        unique.setdefault((package.name, package.version, package.path), package)
    return list(unique.values())


def _text(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    if info.file_size > MAX_TEXT_ENTRY:
        return ""
    return archive.read(info).decode("utf-8", "replace")


def _own_and_bundled(archive: zipfile.ZipFile, path: str) -> list[Package]:
    poms: list[Coordinates] = []
    licenses: dict[str, tuple[str, ...]] = {}  # by META-INF/maven/<g>/<a>/ directory
    manifest: dict[str, str] = {}
    for info in archive.infolist():
        name = info.filename
        if name.startswith("META-INF/maven/") and name.endswith("/pom.properties"):
            coordinates = pom_properties(_text(archive, info), name)
            if coordinates is not None:
                poms.append(coordinates)
        elif name.startswith("META-INF/maven/") and name.endswith("/pom.xml"):
            licenses[name.rsplit("/", 1)[0]] = pom_licenses(_text(archive, info))
        elif name == "META-INF/MANIFEST.MF":
            manifest = manifest_main_section(_text(archive, info))
    file_name = path.rsplit("/", 1)[-1]
    found = [
        _package(p, path, licenses.get(f"META-INF/maven/{p.group}/{p.artifact}", ())) for p in poms
    ]
    if not any(_is_own(p, file_name, poms) for p in poms):
        own = manifest_coordinates(manifest, path)
        if own is not None:
            found.append(_package(own, path))
    return found


def _nested(archive: zipfile.ZipFile, path: str, depth: int, skipped: list[str]) -> list[Package]:
    found: list[Package] = []
    for info in archive.infolist():
        if not info.filename.endswith(ARCHIVE_SUFFIXES):
            continue
        nested_path = f"{path}/{info.filename}"
        if depth >= MAX_DEPTH:
            skipped.append(f"{nested_path}: not read (nested deeper than {MAX_DEPTH} archives)")
        elif info.file_size >= MAX_NESTED_SIZE:
            skipped.append(
                f"{nested_path}: not read ({info.file_size} bytes, over the "
                f"{MAX_NESTED_SIZE // (1024 * 1024)} MiB limit of nested archives)"
            )
        else:
            found.extend(archive_packages(archive.read(info), nested_path, depth + 1, skipped))
    return found


@register
class JarAnalyzer(Analyzer):
    """Java archives (.jar, .war, .ear, .par)."""

    id = "jar"
    version = 3
    ecosystems = frozenset({Ecosystem.MAVEN})
    max_size = 128 * 1024 * 1024  # fat jars bundle their dependencies

    def required(self, info: FileInfo) -> bool:
        """Files named like Java archives."""
        return info.path.endswith(ARCHIVE_SUFFIXES)

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """Maven packages found in the archive."""
        skipped: list[str] = []
        packages = archive_packages(content, info.path, skipped=skipped)
        return FileAnalysis(packages=packages, warnings=skipped) if packages or skipped else None
