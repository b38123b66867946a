"""npm lock files (package-lock.json v1-v3) and yarn.lock: dependencies marked as declared."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers.base import Analyzer, AnalyzerOptions, FileAnalysis, register
from stockade.scan.analyzers.npm import npm_package
from stockade.scan.files import FileInfo

_YARN_HEADER = re.compile(r'^"?((?:@[^@/\s"]+/)?[^@\s",]+)@')
_YARN_VERSION = re.compile(r'^\s+version:?\s+"?([^"\s]+)"?')


def _from_packages(packages: dict[str, Any], path: str) -> list[Package]:
    found = []
    for key, entry in packages.items():
        if "node_modules/" not in key or not isinstance(entry, dict):
            continue  # "" is the project itself, other keys its workspace members
        if entry.get("link") or entry.get("dev"):
            continue
        name = entry.get("name") or key.rsplit("node_modules/", 1)[-1]
        version = entry.get("version")
        if isinstance(name, str) and isinstance(version, str):
            found.append(npm_package(name, version, path))
    return found


def _from_dependencies(deps: dict[str, Any], path: str) -> list[Package]:
    found = []
    for name, entry in deps.items():
        if not isinstance(entry, dict) or entry.get("dev"):
            continue
        version = entry.get("version")
        if isinstance(version, str) and not version.startswith(("file:", "link:")):
            found.append(npm_package(name, version, path))
        nested = entry.get("dependencies")
        if isinstance(nested, dict):
            found.extend(_from_dependencies(nested, path))
    return found


def parse_package_lock(content: bytes, path: str) -> list[Package]:
    """Packages of a package-lock.json: `packages` (v2/v3) or `dependencies` (v1)."""
    lock = msgspec.json.decode(content)
    if not isinstance(lock, dict):
        return []
    if isinstance(lock.get("packages"), dict):
        return _from_packages(lock["packages"], path)
    if isinstance(lock.get("dependencies"), dict):
        return _from_dependencies(lock["dependencies"], path)
    return []


def parse_yarn_lock(text: str, path: str) -> list[Package]:
    """Packages of a yarn.lock (classic v1 and berry share the header/version shape)."""
    found = []
    name = ""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if not line[0].isspace():
            match = _YARN_HEADER.match(line)
            name = match.group(1) if match and not line.startswith("__metadata") else ""
            continue
        version = _YARN_VERSION.match(line)
        if name and version:
            found.append(npm_package(name, version.group(1), path))
            name = ""
    return found


@register
class NpmLockAnalyzer(Analyzer):
    """Dependencies pinned by package-lock.json and yarn.lock."""

    id = "npm-lock"
    version = 2
    ecosystems = frozenset({Ecosystem.NPM})

    @classmethod
    def enabled(cls, options: AnalyzerOptions) -> bool:
        """Only when lock files are wanted (filesystem scans)."""
        return options.lockfiles

    def required(self, info: FileInfo) -> bool:
        """Lock files outside node_modules."""
        return info.name in ("package-lock.json", "yarn.lock") and "node_modules/" not in info.path

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """The locked packages."""
        try:
            if info.name == "yarn.lock":
                packages = parse_yarn_lock(content.decode("utf-8", "replace"), info.path)
            else:
                packages = parse_package_lock(content, info.path)
        except msgspec.DecodeError:
            return None
        unique = {(p.name, p.version): p for p in packages}  # nested copies, yarn aliases
        marked = [msgspec.structs.replace(p, from_lockfile=True) for p in unique.values()]
        return FileAnalysis(packages=marked) if marked else None
