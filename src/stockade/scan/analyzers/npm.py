"""npm packages installed under node_modules (each package's package.json)."""

from __future__ import annotations

from typing import Any

import msgspec

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers.base import Analyzer, AnalyzerOptions, FileAnalysis, register
from stockade.scan.files import FileInfo


def npm_licenses(manifest: dict[str, Any]) -> tuple[str, ...]:
    """Licences of a package.json: `license` (string or {type}) or legacy `licenses`."""
    declared = manifest.get("license")
    if isinstance(declared, str) and declared:
        return (declared,)
    if isinstance(declared, dict) and isinstance(declared.get("type"), str):
        return (declared["type"],)
    legacy = manifest.get("licenses")
    if isinstance(legacy, list):
        return tuple(
            item["type"] if isinstance(item, dict) else item
            for item in legacy
            if isinstance(item, str)
            or (isinstance(item, dict) and isinstance(item.get("type"), str))
        )
    return ()


def _person(value: Any) -> str:
    """npm's person field: "Name <email> (url)" or {name, email}, as "Name <email>"."""
    if isinstance(value, str):
        return value.split(" (", 1)[0].strip()
    if not isinstance(value, dict):
        return ""
    name, email = value.get("name"), value.get("email")
    name = name.strip() if isinstance(name, str) else ""
    email = email.strip() if isinstance(email, str) else ""
    return f"{name} <{email}>" if name and email else name or email


def npm_author(manifest: dict[str, Any]) -> str:
    """Who publishes a package.json: its `author`, else its first contributor or maintainer."""
    author = _person(manifest.get("author"))
    for field in ("contributors", "maintainers"):
        people = manifest.get(field)
        if not author and isinstance(people, list) and people:
            author = _person(people[0])
    return author


def npm_requires(manifest: dict[str, Any]) -> tuple[str, ...]:
    """Names it depends on at run time: dependencies and optionalDependencies."""
    names: dict[str, None] = {}
    for field in ("dependencies", "optionalDependencies"):
        declared = manifest.get(field)
        if isinstance(declared, dict):
            names.update(dict.fromkeys(n for n in declared if isinstance(n, str)))
    return tuple(names)


def npm_package(
    name: str,
    version: str,
    path: str,
    licenses: tuple[str, ...] = (),
    manifest: dict[str, Any] | None = None,
) -> Package:
    """An npm Package; its author and dependencies from `manifest` where given."""
    return Package(
        name=name,
        version=version,
        ecosystem=Ecosystem.NPM,
        licenses=licenses,
        path=path,
        supplier=npm_author(manifest) if manifest else "",
        requires=npm_requires(manifest) if manifest else (),
    )


def is_package_root(path: str) -> bool:
    """False for helper package.json files deeper inside an installed package."""
    head, sep, tail = path.rpartition("node_modules/")
    if not sep:
        return True
    parts = tail.split("/")
    return len(parts) == 2 or (len(parts) == 3 and parts[0].startswith("@"))


@register
class NodePackageAnalyzer(Analyzer):
    """package.json files of installed packages (inside node_modules)."""

    id = "node-pkg"
    version = 3
    ecosystems = frozenset({Ecosystem.NPM})

    def __init__(self, options: AnalyzerOptions) -> None:
        self._projects = options.project_manifests

    file_names = frozenset({"package.json"})

    def required(self, info: FileInfo) -> bool:
        """package.json files; inside node_modules only a package's top-level one, and
        outside it (a project's own manifest) only when project manifests count."""
        if info.name != "package.json":
            return False
        if "node_modules/" not in info.path:
            return self._projects
        return is_package_root(info.path)

    def analyze(self, info: FileInfo, content: bytes) -> FileAnalysis | None:
        """The package named by this package.json."""
        try:
            manifest = msgspec.json.decode(content)
        except msgspec.DecodeError:
            return None
        if not isinstance(manifest, dict):
            return None
        name, version = manifest.get("name"), manifest.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
            return None
        package = npm_package(name, version, info.path, npm_licenses(manifest), manifest)
        return FileAnalysis(packages=[package])
