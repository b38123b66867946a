"""Debian packages from the dpkg database (var/lib/dpkg/status and status.d/*)."""

from __future__ import annotations

import re

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers.base import Analyzer, FileAnalysis, register
from stockade.scan.files import FileInfo

STATUS = "var/lib/dpkg/status"
STATUS_D = "var/lib/dpkg/status.d/"
_SOURCE = re.compile(r"^(\S+)(?:\s+\((\S+)\))?")
_RELATION_NAME = re.compile(r"^\s*([^\s(\[<:]+)")  # a name before version, arch, profile


def relation_names(field: str) -> tuple[str, ...]:
    """Names of a Depends-style field: "libc6 (>= 2.34), a | b:any" -> ("libc6", "a|b")."""
    names = []
    for relation in field.replace("\n", " ").split(","):
        choices = (_RELATION_NAME.match(choice) for choice in relation.split("|"))
        alternatives = "|".join(m.group(1) for m in choices if m is not None)
        if alternatives:
            names.append(alternatives)
    return tuple(names)


def paragraphs(text: str) -> list[dict[str, str]]:
    """The RFC 822 style paragraphs of a Debian control file (continuation lines joined)."""
    result = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            if line[:1] in (" ", "\t"):
                if key:
                    fields[key] += "\n" + line.strip()
                continue
            key, sep, value = line.partition(":")
            if not sep:
                key = ""
                continue
            fields[key] = value.strip()
        if fields:
            result.append(fields)
    return result


def package_from(fields: dict[str, str], path: str) -> Package | None:
    """A Package from one dpkg paragraph; None unless it is installed."""
    status = fields.get("Status", "install ok installed").split()
    if status[-1:] != ["installed"]:
        return None
    name, version = fields.get("Package", ""), fields.get("Version", "")
    if not name or not version:
        return None
    source_name, source_version = name, version
    match = _SOURCE.match(fields.get("Source", ""))
    if match:
        source_name = match.group(1)
        source_version = match.group(2) or version
    arch = fields.get("Architecture", "")
    return Package(
        name=name,
        version=version,
        ecosystem=Ecosystem.DEBIAN,
        source_name=source_name,
        source_version=source_version,
        arch=arch,
        path=path,
        supplier=fields.get("Maintainer", ""),
        requires=relation_names(fields.get("Pre-Depends", ""))
        + relation_names(fields.get("Depends", "")),
        provides=relation_names(fields.get("Provides", "")),
    )


@register
class DpkgAnalyzer(Analyzer):
    """Installed packages listed in the dpkg status database."""

    id = "dpkg"
    version = 2
    ecosystems = frozenset({Ecosystem.DEBIAN})

    def required(self, info: FileInfo) -> bool:
        """The status file and the per-package files distroless images use."""
        return info.path == STATUS or (
            info.path.startswith(STATUS_D) and not info.name.endswith(".md5sums")
        )

    def wants_files_in(self, rel_dir: str) -> bool:
        """Only the status file's directory and the status.d tree."""
        return rel_dir == STATUS.rpartition("/")[0] or f"{rel_dir}/".startswith(STATUS_D)

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """One Package per installed paragraph."""
        text = content.decode("utf-8", "replace")
        packages = [p for f in paragraphs(text) if (p := package_from(f, info.path)) is not None]
        return FileAnalysis(packages=packages) if packages else None
