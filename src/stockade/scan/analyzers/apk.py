"""Alpine packages from the apk database (lib/apk/db/installed)."""

from __future__ import annotations

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers.base import Analyzer, FileAnalysis, register
from stockade.scan.files import FileInfo

INSTALLED = "lib/apk/db/installed"


def _package(fields: dict[str, str], path: str) -> Package | None:
    name, version = fields.get("P", ""), fields.get("V", "")
    if not name or not version:
        return None
    arch = fields.get("A", "")
    licenses = tuple(fields.get("L", "").split()) if fields.get("L") else ()
    return Package(
        name=name,
        version=version,
        ecosystem=Ecosystem.ALPINE,
        source_name=fields.get("o", name),
        source_version=version,
        arch=arch,
        licenses=licenses,
        path=path,
    )


@register
class ApkAnalyzer(Analyzer):
    """Installed packages listed in the apk database."""

    id = "apk"
    ecosystems = frozenset({Ecosystem.ALPINE})

    file_names = frozenset({INSTALLED.rsplit("/", 1)[-1]})

    def required(self, info: FileInfo) -> bool:
        """The apk installed database."""
        return info.path == INSTALLED

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """One Package per record (P: name, V: version, A: arch, L: licence, o: origin)."""
        packages = []
        for block in content.decode("utf-8", "replace").split("\n\n"):
            fields: dict[str, str] = {}
            for line in block.splitlines():
                if len(line) > 2 and line[1] == ":":
                    fields.setdefault(line[0], line[2:])
            package = _package(fields, info.path)
            if package is not None:
                packages.append(package)
        return FileAnalysis(packages=packages) if packages else None
