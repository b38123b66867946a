"""Merge per-layer results into the image's view, keeping which layer brought what."""

from __future__ import annotations

from typing import Any

import msgspec

from stockade.model.inventory import Ecosystem, Finding, LayerRef, Package, PackageFile
from stockade.scan.analyzers import FileAnalysis, OSInfo
from stockade.scan.analyzers.package_files import CONFFILES, files_key
from stockade.scan.digests import FileDigest
from stockade.scan.layers import LayerResult
from stockade.scan.package_digests import with_digests


class _FileState(msgspec.Struct):
    analysis: FileAnalysis
    layer: LayerRef
    origins: dict[tuple[str, str], LayerRef] = msgspec.field(default_factory=dict)


class Applied(msgspec.Struct, frozen=True):
    """The merged view of an image."""

    packages: list[Package]
    findings: list[Finding]
    os: OSInfo | None
    warnings: list[str]
    executables: dict[str, str] = msgspec.field(default_factory=dict)  # "/path" -> "sha256:..."


class _Tree(msgspec.Struct):
    """The merged view of what a scan that hashes files met: digests and links by path."""

    digests: dict[str, FileDigest] = msgspec.field(default_factory=dict)
    links: dict[str, str] = msgspec.field(default_factory=dict)
    deleted: set[str] = msgspec.field(default_factory=set)  # whiteouts, to say why a file is absent

    def remove(self, path: str, under: bool) -> None:
        self.deleted.add(path)
        for found in (self.digests, self.links):
            found.pop(path, None)
            if under:
                _remove_under(found, path)

    def add(self, result: LayerResult) -> None:
        for path, digest in result.digests.items():
            self.links.pop(path, None)
            self.digests[path] = digest
        for path, target in result.links.items():
            self.digests.pop(path, None)
            self.links[path] = target


def _remove_under(files: dict[str, Any], directory: str) -> None:
    if not directory:
        files.clear()
        return
    prefix = directory + "/"
    for path in [p for p in files if p.startswith(prefix)]:
        del files[path]


def apply_layers(layers: list[tuple[LayerRef, LayerResult]]) -> Applied:
    """Pure merge: later layers override, whiteouts and opaque dirs delete what lies below."""
    files: dict[str, _FileState] = {}
    tree = _Tree()
    warnings: list[str] = []
    for ref, result in layers:
        warnings.extend(result.warnings)
        for directory in result.opaque_dirs:
            _remove_under(files, directory)
            tree.remove(directory, under=True)
        for path in result.whiteouts:
            files.pop(path, None)
            _remove_under(files, path)
            tree.remove(path, under=True)
        tree.add(result)
        for path, analysis in result.files.items():
            previous = files.get(path)
            origins = {}
            for package in analysis.packages:
                key = (package.name, package.version)
                # a package already in an older copy of the same file keeps its older layer
                origins[key] = previous.origins.get(key, ref) if previous else ref
            files[path] = _FileState(analysis, ref, origins)
    return _collect(files, warnings, tree)


def _collect(files: dict[str, _FileState], warnings: list[str], tree: _Tree) -> Applied:
    packages: list[Package] = []
    findings: list[Finding] = []
    os_info: OSInfo | None = None
    licenses: dict[str, list[str]] = {}
    package_files: dict[str, list[PackageFile]] = {}
    for state in files.values():
        licenses.update(state.analysis.licenses)
        package_files.update(state.analysis.package_files)
    by_source = _debian_licenses_by_source(files, licenses)
    for path in sorted(files):
        state = files[path]
        for package in state.analysis.packages:
            origin = state.origins.get((package.name, package.version), state.layer)
            declared = package.licenses
            if not declared and package.ecosystem is Ecosystem.DEBIAN:
                declared = tuple(licenses.get(package.name, ())) or by_source.get(
                    (package.source_name or package.name, package.source_version), ()
                )
            elif package.ecosystem is Ecosystem.MAVEN:
                package = _with_repository_group(package, licenses)
                if not declared:  # the parent POM's
                    from stockade.scan.analyzers.pom import inherited_licenses  # Java only

                    declared = inherited_licenses(f"{package.name}:{package.version}", licenses)
            key = files_key(package)
            listed = (*package_files.get(key, ()), *package_files.get(key + CONFFILES, ()))
            package = msgspec.structs.replace(
                package, layer=origin, licenses=declared, files=package.files or listed
            )
            if package.files and (tree.digests or tree.links):
                package, missing = with_digests(package, tree.digests, tree.links, tree.deleted)
                warnings.extend(missing)
            packages.append(package)
        findings.extend(
            msgspec.structs.replace(f, layer=state.layer) for f in state.analysis.findings
        )
        candidate = state.analysis.os
        if candidate is not None and (os_info is None or candidate.priority > os_info.priority):
            os_info = candidate
    executables = {"/" + p: s.analysis.sha256 for p, s in files.items() if s.analysis.sha256}
    return Applied(packages, findings, os_info, warnings, executables)


def _debian_licenses_by_source(
    files: dict[str, _FileState], licenses: dict[str, list[str]]
) -> dict[tuple[str, str], tuple[str, ...]]:
    """Licences of each Debian source package (name, version), from the first of its binary
    packages with a copyright file. Debian writes copyright per source package, and a
    binary package may link its doc directory to a sibling's of the same source (Policy
    12.5: libstdc++6 -> gcc-12-base), where the walk finds no file of its own."""
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for state in files.values():
        for package in state.analysis.packages:
            own = licenses.get(package.name) if package.ecosystem is Ecosystem.DEBIAN else None
            if own:
                key = (package.source_name or package.name, package.source_version)
                found.setdefault(key, tuple(own))
    return found


def _with_repository_group(package: Package, table: dict[str, list[str]]) -> Package:
    """A Maven package whose group no pom.properties or repository path names gets the one
    its repository POM gives (a scan started at the repository's root, where the path alone
    cannot say it): that POM outranks any group read from the manifest or classes."""
    from stockade.scan.analyzers.jar_identity import (
        POM_PROPERTIES,
        REPOSITORY_PATH,
        REPOSITORY_POM,
    )

    if package.group_source in (POM_PROPERTIES, REPOSITORY_PATH):
        return package
    from stockade.scan.analyzers.pom import repository_group  # Java only

    artifact = package.name.rpartition(":")[2]
    group = repository_group(package.path, artifact, package.version, table)
    if not group:
        return package
    name = f"{group}:{artifact}"
    return msgspec.structs.replace(package, name=name, group_source=REPOSITORY_POM)


def without_declared_duplicates(packages: list[Package]) -> list[Package]:
    """Lock-file packages that are also found installed are dropped (the installed copy
    says more: its own path and layer); each lock file lists a package once."""
    installed = {(p.ecosystem, p.name, p.version) for p in packages if not p.from_lockfile}
    kept: list[Package] = []
    seen: set[tuple[Ecosystem, str, str, str]] = set()
    for package in packages:
        if package.from_lockfile:
            key = (package.ecosystem, package.name, package.version, package.path)
            if key in seen or key[:3] in installed:
                continue
            seen.add(key)
        kept.append(package)
    return kept
