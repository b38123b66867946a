"""Java archives (.jar, .war, .ear, .par) and Maven repository POMs: the analyzer.

What an archive holds is read by `jar_archive.py`, imported with the first archive or POM
met: a scan of a tree without Java pays nothing for the ZIP, XML and POM readers.
"""

from __future__ import annotations

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers.base import Analyzer, FileAnalysis, register
from stockade.scan.files import FileInfo, RandomAccess, Readable

ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".par")


@register
class JarAnalyzer(Analyzer):
    """Java archives (.jar, .war, .ear, .par)."""

    id = "jar"
    version = 5  # 5: groupIds inferred as Syft does (jar_group.py)
    ecosystems = frozenset({Ecosystem.MAVEN})
    max_size = 128 * 1024 * 1024  # fat jars bundle their dependencies
    seeks = True  # on disk: the central directory and a few entries, never the whole jar
    file_suffixes = (*ARCHIVE_SUFFIXES, ".pom")

    def required(self, info: FileInfo) -> bool:
        """Files named like Java archives, and POMs of a Maven repository layout (parents
        whose licences their children inherit)."""
        return info.path.endswith(ARCHIVE_SUFFIXES) or is_repository_pom(info.path)

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """Maven packages found in the archive; a repository POM's licences and parent."""
        from stockade.scan.analyzers.jar_archive import archive_packages
        from stockade.scan.analyzers.pom import parse_pom, side_table

        if not info.path.endswith(ARCHIVE_SUFFIXES):
            pom = parse_pom(content.decode("utf-8", "replace"))
            return FileAnalysis(licenses=side_table(pom)) if pom is not None else None
        skipped: list[str] = []
        poms: dict[str, list[str]] = {}
        packages = archive_packages(content, info.path, skipped=skipped, poms=poms)
        return _analysis(packages, skipped, poms)

    def analyze_stream(self, info: FileInfo, stream: Readable) -> FileAnalysis | None:
        """The same from a file on disk: an archive's central directory and the entries
        naming it are read by seeking (the jar analyzer gets no layer stream: it does not
        stream)."""
        from stockade.scan.analyzers.jar_archive import file_archive_packages

        if not isinstance(stream, RandomAccess):
            raise NotImplementedError("the jar analyzer reads seekable files only")
        if not info.path.endswith(ARCHIVE_SUFFIXES):
            return self.analyze(info, stream.read())
        skipped: list[str] = []
        poms: dict[str, list[str]] = {}
        packages = file_archive_packages(stream, info.path, skipped=skipped, poms=poms)
        return _analysis(packages, skipped, poms)


def _analysis(
    packages: list[Package], skipped: list[str], poms: dict[str, list[str]]
) -> FileAnalysis | None:
    if not (packages or skipped or poms):
        return None
    return FileAnalysis(packages=packages, warnings=skipped, licenses=poms)


def is_repository_pom(path: str) -> bool:
    """`.../<artifact>/<version>/<artifact>-<version>.pom`, as Maven repositories lay POMs out."""
    if not path.endswith(".pom"):
        return False
    parts = path.split("/")
    return len(parts) >= 4 and parts[-1] == f"{parts[-3]}-{parts[-2]}.pom"
