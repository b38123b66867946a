"""Licences of Debian packages from their copyright files: DEP-5 fields, else the free text."""

from __future__ import annotations

import re

from stockade.scan.analyzers.base import Analyzer, FileAnalysis, register
from stockade.scan.analyzers.copyright_text import free_form_licenses
from stockade.scan.files import FileInfo

# compiled by `re` on first use: every scan imports this module, few meet a copyright file
_LICENSE_LINE = rb"(?m)^License:[ \t]*(\S[^\n]*)"
_GNU = r"(?i)^(L?GPL|AGPL|GFDL)-?(\d(?:\.\d)?)(\+)?$"
_NAMES = {
    "expat": "MIT",
    "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd-4-clause": "BSD-4-Clause",
    "apache-2.0": "Apache-2.0",
    "zlib": "Zlib",
    "isc": "ISC",
    "mit": "MIT",
    "public-domain": "public-domain",
}


def spdx_name(short: str) -> str:
    """Debian's short licence name as an SPDX id where one is obvious (GPL-2+ and the like)."""
    match = re.match(_GNU, short)
    if match:
        family, version, plus = match.groups()
        version = version if "." in version else f"{version}.0"
        return f"{family.upper()}-{version}-{'or-later' if plus else 'only'}"
    return _NAMES.get(short.lower(), short)


def copyright_licenses(content: bytes) -> list[str]:
    """The distinct licences a DEP-5 copyright file declares, in order of appearance."""
    found: list[str] = []
    for match in re.finditer(_LICENSE_LINE, content):
        for part in re.split(
            r"\s+(?:or|and)\s+|\s*[|,]\s*", match.group(1).decode("utf-8", "replace")
        ):
            name = spdx_name(part.strip())
            if name and " " not in name and name not in found:
                found.append(name)
    return found


@register
class DpkgCopyrightAnalyzer(Analyzer):
    """usr/share/doc/<package>/copyright files."""

    id = "dpkg-license"
    version = 2

    file_names = frozenset({"copyright"})

    def required(self, info: FileInfo) -> bool:
        """Copyright files directly in a package's doc directory."""
        parts = info.path.split("/")
        return len(parts) == 5 and parts[:3] == ["usr", "share", "doc"] and parts[4] == "copyright"

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """The licences, keyed by the package the directory is named after: DEP-5 fields,
        else (free-form text, or DEP-5 naming none) what the text says."""
        licenses = copyright_licenses(content) if content.startswith(b"Format:") else []
        if not licenses:
            licenses = free_form_licenses(content.decode("utf-8", "replace"))
        return FileAnalysis(licenses={info.path.split("/")[3]: licenses}) if licenses else None
