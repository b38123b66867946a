"""Ruby gems from installed gemspecs (specifications/*.gemspec)."""

from __future__ import annotations

import re

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers.base import Analyzer, FileAnalysis, register
from stockade.scan.files import FileInfo

# compiled by `re` on first use: every scan imports this module, few meet a gemspec
_NAME = r"""\.name\s*=\s*["']([^"']+)["']"""
_VERSION = r"""\.version\s*=\s*(?:Gem::Version\.new\()?\s*["']([^"']+)["']"""
_LICENSES = r"""\.licenses?\s*=\s*\[?([^\]\n]+)"""
_QUOTED = r"""["']([^"']+)["']"""


@register
class GemspecAnalyzer(Analyzer):
    """Installed gems' specifications."""

    id = "gemspec"
    ecosystems = frozenset({Ecosystem.RUBYGEMS})

    file_suffixes = (".gemspec",)

    def required(self, info: FileInfo) -> bool:
        """*.gemspec inside a specifications directory."""
        return info.path.endswith(".gemspec") and "/specifications/" in f"/{info.path}"

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """The gem this spec describes."""
        text = content.decode("utf-8", "replace")
        name, version = re.search(_NAME, text), re.search(_VERSION, text)
        if not name or not version:
            return None
        licenses = re.search(_LICENSES, text)
        package = Package(
            name=name.group(1),
            version=version.group(1),
            ecosystem=Ecosystem.RUBYGEMS,
            licenses=tuple(re.findall(_QUOTED, licenses.group(1))) if licenses else (),
            path=info.path,
        )
        return FileAnalysis(packages=[package])
