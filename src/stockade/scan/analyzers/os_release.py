"""Which distribution an image runs: os-release and the distro-specific version files."""

from __future__ import annotations

from stockade.scan.analyzers.base import Analyzer, FileAnalysis, OSInfo, register
from stockade.scan.files import FileInfo

OS_RELEASE_PATHS = frozenset({"etc/os-release", "usr/lib/os-release"})


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value pairs of an os-release file, quotes removed."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            fields[key] = value.strip().strip("\"'")
    return fields


@register
class OsReleaseAnalyzer(Analyzer):
    """Reads /etc/os-release (ID, VERSION_ID)."""

    id = "os-release"

    file_names = frozenset(p.rsplit("/", 1)[-1] for p in OS_RELEASE_PATHS)

    def required(self, info: FileInfo) -> bool:
        """The os-release files."""
        return info.path in OS_RELEASE_PATHS

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """The distro id and version."""
        fields = parse_os_release(content.decode("utf-8", "replace"))
        family = fields.get("ID", "")
        if not family:
            return None
        priority = 1 if info.path == "etc/os-release" else 0
        return FileAnalysis(
            os=OSInfo(family=family, name=fields.get("VERSION_ID", ""), priority=priority)
        )


_VERSION_FILES = {
    "etc/debian_version": "debian",
    "etc/alpine-release": "alpine",
}


@register
class DistroVersionAnalyzer(Analyzer):
    """Reads the precise point release from etc/debian_version or etc/alpine-release."""

    id = "distro-version"

    file_names = frozenset(p.rsplit("/", 1)[-1] for p in _VERSION_FILES)

    def required(self, info: FileInfo) -> bool:
        """The distro version files."""
        return info.path in _VERSION_FILES

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """The distro and its point release (e.g. debian 12.15)."""
        version = content.decode("utf-8", "replace").strip()
        if not version or not version[0].isdigit():
            return None  # testing/sid spell codenames here; os-release is better then
        return FileAnalysis(os=OSInfo(family=_VERSION_FILES[info.path], name=version, priority=2))
