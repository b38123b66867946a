"""Scan an image or a filesystem: sources -> walker -> analyzers -> applier -> findings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from stockade.model.inventory import Finding, LayerRef, Package, ScanResult
from stockade.scan.analyzers import OSInfo
from stockade.scan.analyzers.image_config import ImageConfigInput
from stockade.scan.applier import Applied, apply_layers, without_declared_duplicates
from stockade.scan.distro import os_label, with_distro
from stockade.scan.errors import SourceError
from stockade.scan.graph import link
from stockade.scan.group import AnalyzerGroup
from stockade.scan.layers import (
    LayerResult,
    analyze_layer,
    analyze_tree,
    cache_digest,
    verify_layer,
)
from stockade.scan.options import Scanner, ScanOptions

if TYPE_CHECKING:  # images' sources and the layer cache load for image scans only
    from stockade.scan.cache import LayerCache
    from stockade.scan.sources import ImageSource

Progress = Callable[[str, int, int], None]


def _no_progress(what: str, done: int, total: int) -> None:
    del what, done, total


def scan_image(ref: str, options: ScanOptions, progress: Progress | None = None) -> ScanResult:
    """Scan the image (or root filesystem) named by `ref`."""
    from stockade.scan.sources import ImageSource, RootfsSource, open_source

    report = progress or _no_progress
    with open_source(ref) as source:
        if isinstance(source, RootfsSource):
            return _scan_tree(ref, source.root, options, AnalyzerGroup.build(options), report)
        if not isinstance(source, ImageSource):
            raise SourceError(f"{ref}: unsupported source type {type(source).__name__}")
        return _scan_layers(ref, source, options, report)


def scan_image_executables(ref: str, options: ScanOptions) -> tuple[ScanResult, dict[str, str]]:
    """`scan_image`, plus the image's executable files' sha256 by path ("/usr/bin/id") as
    its verified layers hold them; empty for a container's root filesystem (not an image's)."""
    from stockade.scan.sources import ImageSource, RootfsSource, open_source

    options = msgspec.structs.replace(options, executables=True)
    with open_source(ref) as source:
        if isinstance(source, RootfsSource):
            group = AnalyzerGroup.build(msgspec.structs.replace(options, executables=False))
            return _scan_tree(ref, source.root, options, group, _no_progress), {}
        if not isinstance(source, ImageSource):
            raise SourceError(f"{ref}: unsupported source type {type(source).__name__}")
        scan, applied = _layers_applied(ref, source, options, _no_progress)
        return _finish(scan, applied, options, scan.findings), applied.executables


def scan_fs(path: str | Path, options: ScanOptions, progress: Progress | None = None) -> ScanResult:
    """Scan a directory tree (a project or a rootfs): lock files' dependencies are listed
    (marked as such), the project's own package.json is not a package."""
    root = Path(path)
    if not root.is_dir():  # as a DirectorySource says, without loading the image sources
        raise SourceError(f"{root}: not a directory")
    group = AnalyzerGroup.build(options, tree=True)
    return _scan_tree(str(root), root, options, group, progress or _no_progress)


def scan_sbom(path: Path, options: ScanOptions) -> ScanResult:
    """Match the packages an existing SBOM (CycloneDX or SPDX JSON) lists."""
    from stockade.scan.sbom_input import read_sbom

    contents = read_sbom(path)
    applied = Applied(
        packages=contents.packages, findings=[], os=contents.os, warnings=contents.warnings
    )
    result = ScanResult(target=str(path), image_digest=contents.image_digest)
    return _finish(result, applied, options, [])


def _scan_tree(
    ref: str, root: Path, options: ScanOptions, group: AnalyzerGroup, report: Progress
) -> ScanResult:
    report(ref, 0, 1)
    applied = apply_layers([(LayerRef(), analyze_tree(root, group))])
    report(ref, 1, 1)
    return _finish(ScanResult(target=ref), applied, options, [])


def _scan_layers(
    ref: str, source: ImageSource, options: ScanOptions, report: Progress
) -> ScanResult:
    scan, applied = _layers_applied(ref, source, options, report)
    return _finish(scan, applied, options, scan.findings)


def _layers_applied(
    ref: str, source: ImageSource, options: ScanOptions, report: Progress
) -> tuple[ScanResult, Applied]:
    """The image's layers read (or taken from the cache once verified) and merged; the
    image-config findings wait in the result's `findings`."""
    from stockade.scan.cache import LayerCache

    group = AnalyzerGroup.build(options)
    cache = LayerCache(options.cache_dir) if options.cache_dir is not None else None
    layers = source.layers()
    results: list[tuple[LayerRef, LayerResult]] = []
    for index, layer in enumerate(layers):
        report(ref, index, len(layers))
        # analyze_layer checks a layer's digests while reading it and verify_layer before
        # a cached result is used: a layer claiming another's digest is an error
        digest = cache_digest(layer)
        key = group.cache_key(digest) if digest else ""
        result = cache.get(key) if cache is not None and key else None
        if result is not None:
            verify_layer(source, layer, group)
        else:
            result = analyze_layer(source, layer, group)
            if cache is not None and key:
                cache.put(key, result)
        results.append((layer.ref, result))
    report(ref, len(layers), len(layers))
    extra = _image_findings(source, group, cache)
    scan = ScanResult(
        target=ref,
        image_digest=source.manifest_digest,
        image_config_digest=source.config_digest,
        layers=[layer.ref for layer in layers],
        findings=extra,
    )
    return scan, apply_layers(results)


def _image_findings(
    source: ImageSource, group: AnalyzerGroup, cache: LayerCache | None
) -> list[Finding]:
    """The image-config analyzers' findings, cached like a layer's results."""
    if not group.config_classes:
        return []
    key = ""
    if cache is not None and source.config_digest:
        key = group.config_cache_key(f"{source.manifest_digest}|{source.config_digest}")
        cached = cache.get_findings(key)
        if cached is not None:
            return cached  # the analyzers (compiled rules, checks) are never built
    image = ImageConfigInput(source.config(), source.annotations())
    findings = [f for analyzer in group.config_analyzers() for f in analyzer.analyze(image)]
    if cache is not None and key:
        cache.put_findings(key, findings)
    return findings


def _finish(
    result: ScanResult, applied: Applied, options: ScanOptions, extra: list[Finding]
) -> ScanResult:
    packages = link(with_distro(without_declared_duplicates(applied.packages), applied.os))
    findings = [*applied.findings, *extra]
    warnings = list(applied.warnings)
    if options.enabled(Scanner.VULN) and options.db_path is not None:
        findings += _vulnerabilities(packages, applied.os, options.db_path)
    elif options.enabled(Scanner.VULN):
        warnings.append("no vulnerability database given: run `stockade db import` first")
    findings = [f for f in findings if _kept(f, options)]
    if not (options.enabled(Scanner.PKG) or options.enabled(Scanner.VULN)):
        packages = []
    return _fill(result, applied.os, packages, findings, warnings)


def _fill(
    result: ScanResult,
    os_info: OSInfo | None,
    packages: list[Package],
    findings: list[Finding],
    warnings: list[str],
) -> ScanResult:
    result.os = os_label(os_info)
    result.packages = sorted(packages, key=lambda p: (p.ecosystem, p.name, p.version, p.path))
    result.findings = sorted(findings, key=lambda f: (f.kind, -f.severity, f.id, f.path, f.line))
    result.warnings = warnings
    return result


def _kept(finding: Finding, options: ScanOptions) -> bool:
    if finding.severity not in options.severities:
        return False
    return not (
        options.ignore_unfixed and finding.kind == "vulnerability" and not finding.fixed_version
    )


def _vulnerabilities(
    packages: list[Package], os_info: OSInfo | None, db_path: Path
) -> list[Finding]:
    """Findings from the vulnerability matchers over the local advisory database."""
    # imported here: the matchers pull in HTTP clients that package-only scans never need
    from stockade.scan.matchers import match_packages
    from stockade.scan.vulndb import VulnDBError, open_db

    db = open_db(db_path)
    try:
        if not db.sources():  # e.g. left by an import that failed: no finding would mean nothing
            raise VulnDBError(
                f"vulnerability database {db_path} holds no advisories: "
                f"run `stockade db import PATH --db {db_path}`"
            )
        return match_packages(packages, os_label(os_info), db)
    finally:
        db.close()
