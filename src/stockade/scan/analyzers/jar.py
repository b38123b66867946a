"""Java archives: Maven coordinates from pom.properties or MANIFEST.MF, nested jars too."""

from __future__ import annotations

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers.base import Analyzer, FileAnalysis, register
from stockade.scan.files import FileInfo

ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".par")
MAX_DEPTH = 3
MAX_NESTED_SIZE = 64 * 1024 * 1024


def _properties(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.lstrip().startswith("#"):
            fields[key.strip()] = value.strip()
    return fields


def _manifest(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith(" "):
            fields[key.strip()] = value.strip()
    return fields


def _maven(group: str, artifact: str, version: str, path: str) -> Package:
    name = f"{group}:{artifact}" if group else artifact
    return Package(
        name=name,
        version=version,
        ecosystem=Ecosystem.MAVEN,
        path=path,
    )


def archive_packages(data: bytes, path: str, depth: int = 0) -> list[Package]:
    """Packages of one archive and the archives nested in it."""
    import io
    import zipfile  # imported when an archive is met, not at every scan's start

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError):
        return []
    found: list[Package] = []
    with archive:
        names = archive.namelist()
        for name in names:
            if name.startswith("META-INF/maven/") and name.endswith("/pom.properties"):
                props = _properties(archive.read(name).decode("utf-8", "replace"))
                if props.get("artifactId") and props.get("version"):
                    found.append(
                        _maven(
                            props.get("groupId", ""), props["artifactId"], props["version"], path
                        )
                    )
        if not found and "META-INF/MANIFEST.MF" in names:
            found.extend(_from_manifest(archive.read("META-INF/MANIFEST.MF"), path))
        if depth < MAX_DEPTH:
            for entry in archive.infolist():
                if entry.filename.endswith(ARCHIVE_SUFFIXES) and entry.file_size < MAX_NESTED_SIZE:
                    nested_path = f"{path}/{entry.filename}"
                    found.extend(archive_packages(archive.read(entry), nested_path, depth + 1))
    return found


def _from_manifest(content: bytes, path: str) -> list[Package]:
    fields = _manifest(content.decode("utf-8", "replace"))
    artifact = fields.get("Implementation-Title") or fields.get("Bundle-SymbolicName", "")
    version = fields.get("Implementation-Version") or fields.get("Bundle-Version", "")
    group = fields.get("Implementation-Vendor-Id", "")
    if not artifact or not version:
        return []
    return [_maven(group, artifact.split(";")[0].strip(), version, path)]


@register
class JarAnalyzer(Analyzer):
    """Java archives (.jar, .war, .ear, .par)."""

    id = "jar"
    ecosystems = frozenset({Ecosystem.MAVEN})
    max_size = 128 * 1024 * 1024  # fat jars bundle their dependencies

    def required(self, info: FileInfo) -> bool:
        """Files named like Java archives."""
        return info.path.endswith(ARCHIVE_SUFFIXES)

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """Maven packages found in the archive."""
        packages = archive_packages(content, info.path)
        return FileAnalysis(packages=packages) if packages else None
