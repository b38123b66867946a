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


def resolve_node(key: str, dependency: str, present: Any) -> str | None:
    """Where node finds `dependency` required from the package at `key` (a path such as
    "node_modules/a/node_modules/b"): its own node_modules, then each enclosing one."""
    base = key
    while True:
        candidate = f"{base}/node_modules/{dependency}" if base else f"node_modules/{dependency}"
        if candidate in present:
            return candidate
        if not base:
            return None
        head, sep, _ = base.rpartition("node_modules/")
        base = head.rstrip("/") if sep else ""


def _pinned(key: str, entry: dict[str, Any], found: dict[str, tuple[str, str]]) -> tuple[str, ...]:
    """`entry`'s dependencies as "name@version", each resolved to the copy node would load."""
    pins = []
    for field in ("dependencies", "optionalDependencies"):
        declared = entry.get(field)
        for name in declared if isinstance(declared, dict) else ():
            where = resolve_node(key, name, found)
            if where is not None:
                pins.append("@".join(found[where]))
    return tuple(dict.fromkeys(pins))


def _from_packages(packages: dict[str, Any], path: str) -> list[Package]:
    found: dict[str, tuple[str, str]] = {}  # key -> (name, version)
    for key, entry in packages.items():
        if "node_modules/" not in key or not isinstance(entry, dict):
            continue  # "" is the project itself, other keys its workspace members
        if entry.get("link") or entry.get("dev"):
            continue
        name = entry.get("name") or key.rsplit("node_modules/", 1)[-1]
        version = entry.get("version")
        if isinstance(name, str) and isinstance(version, str):
            found[key] = (name, version)
    return [
        msgspec.structs.replace(
            npm_package(name, version, path), requires=_pinned(key, packages[key], found)
        )
        for key, (name, version) in found.items()
    ]


def _from_dependencies(deps: dict[str, Any], path: str, key: str = "") -> list[Package]:
    """v1 lock files: nested `dependencies`, each with `requires`; keys as in v2 so that
    `resolve_node` finds what each requires."""
    tree: dict[str, tuple[str, str]] = {}
    entries: dict[str, dict[str, Any]] = {}

    def walk(level: dict[str, Any], parent: str) -> None:
        for name, entry in level.items():
            if not isinstance(entry, dict) or entry.get("dev"):
                continue
            here = f"{parent}/node_modules/{name}" if parent else f"node_modules/{name}"
            version = entry.get("version")
            if isinstance(version, str) and not version.startswith(("file:", "link:")):
                tree[here], entries[here] = (name, version), entry
            nested = entry.get("dependencies")
            if isinstance(nested, dict):
                walk(nested, here)

    walk(deps, key)
    return [
        msgspec.structs.replace(
            npm_package(name, version, path),
            requires=_pinned(here, {"dependencies": entries[here].get("requires")}, tree),
        )
        for here, (name, version) in tree.items()
    ]


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
    version = 3
    ecosystems = frozenset({Ecosystem.NPM})

    @classmethod
    def enabled(cls, options: AnalyzerOptions) -> bool:
        """Only when lock files are wanted (filesystem scans)."""
        return options.lockfiles

    file_names = frozenset({"package-lock.json", "yarn.lock"})

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
        unique: dict[tuple[str, str], Package] = {}  # nested copies, yarn aliases: merged
        for p in packages:
            seen = unique.get((p.name, p.version))
            requires = seen.requires + p.requires if seen else p.requires
            unique[p.name, p.version] = msgspec.structs.replace(
                p, requires=tuple(dict.fromkeys(requires)), from_lockfile=True
            )
        marked = list(unique.values())
        return FileAnalysis(packages=marked) if marked else None
