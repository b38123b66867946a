"""Analyze one layer (or one directory tree) into a cacheable LayerResult."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from stockade.scan.analyzers import FileAnalysis
from stockade.scan.digests import Digesting, FileDigest
from stockade.scan.files import FileInfo, Readable
from stockade.scan.group import AnalyzerGroup
from stockade.scan.selection import Chosen, SkippedFiles

if TYPE_CHECKING:  # the image sources and the walker load when they are used: a
    # directory scan needs neither tarfile nor the decompressors
    from stockade.scan.sources import ImageSource, Layer
    from stockade.scan.walker import WalkReport


_READ_BYTES = 1024 * 1024


class LayerResult(msgspec.Struct, kw_only=True):
    """What one layer holds and removes: per-file results, whiteouts, opaque directories."""

    files: dict[str, FileAnalysis] = msgspec.field(default_factory=dict)
    whiteouts: list[str] = msgspec.field(default_factory=list)
    opaque_dirs: list[str] = msgspec.field(default_factory=list)
    warnings: list[str] = msgspec.field(default_factory=list)
    # only in scans that hash files (SBOMs): every regular file's digests, and the
    # symbolic links (target as written) that lead to them
    digests: dict[str, FileDigest] = msgspec.field(default_factory=dict)
    links: dict[str, str] = msgspec.field(default_factory=dict)


def _report(group: AnalyzerGroup) -> WalkReport:
    from stockade.scan.walker import WalkReport

    return WalkReport(links={} if group.digests else None)


def _result(report: WalkReport) -> LayerResult:
    return LayerResult(
        whiteouts=report.whiteouts,
        opaque_dirs=report.opaque_dirs,
        warnings=report.warnings,
    )


def analyze_walk(
    walk: Iterable[tuple[FileInfo, Chosen, bytes | Readable]],
    group: AnalyzerGroup,
    result: LayerResult,
    skipped: SkippedFiles,
) -> None:
    """Analyze each file a walk yields into `result`, hashing those the walk marks."""
    for info, chosen, content in walk:
        if not chosen.digest:
            analysis = group.analyze(info, chosen, content, result.warnings, skipped)
        else:
            digesting = Digesting(content)
            analysis = group.analyze(info, chosen, digesting.content, result.warnings, skipped)
            digest = digesting.finish()
            if digest is None:
                result.warnings.append(f"{info.path}: cannot be read to hash it")
            else:
                result.digests[info.path] = digest
        if analysis is not None:
            result.files[info.path] = analysis


def _hardlinked(result: LayerResult, hardlinks: dict[str, str]) -> None:
    """A hard link has the digests of the file it links to in the same layer."""
    for path, target in hardlinks.items():
        digest = result.digests.get(target)
        if digest is not None:
            result.digests[path] = digest


def _what(layer: Layer) -> str:
    return f"layer {layer.ref.digest or layer.ref.diff_id}"


def _nothing(info: FileInfo) -> None:
    del info  # no file is analyzed: the walk only proves the content


def cache_digest(layer: Layer) -> str:
    """The digest a layer's results are cached under: its blob digest (which a cache hit
    re-checks by hashing the blob), else its diff id (re-checked by decompressing)."""
    ref = layer.ref
    if ref.digest.startswith(("sha256:", "sha512:")) and ref.digest != ref.diff_id:
        return ref.digest
    return ref.diff_id


def verify_layer(source: ImageSource, layer: Layer, group: AnalyzerGroup) -> None:
    """Read a layer through without analyzing it: DigestMismatchError (naming the layer)
    unless it hashes to its `cache_digest`, so cached results are only used for it."""
    if cache_digest(layer) != layer.ref.diff_id:
        from stockade.scan.sources.blobstore import VerifyingReader

        blob = VerifyingReader(source.open_layer(layer), layer.ref.digest, _what(layer))
        try:
            while blob.read(_READ_BYTES):
                pass
        finally:
            blob.close()
        return
    from stockade.scan.walker import WalkReport, walk_layer

    what = _what(layer)
    content = source.open_layer(layer)
    for _ in walk_layer(content, what, _nothing, group.limits, WalkReport(), layer.ref.diff_id):
        pass


def analyze_layer(source: ImageSource, layer: Layer, group: AnalyzerGroup) -> LayerResult:
    """Stream the layer once, checking its digests; analyze the files asked for."""
    from stockade.scan.walker import walk_layer

    report = _report(group)
    result = _result(report)
    what = _what(layer)
    blob = source.open_layer(layer)
    walk = walk_layer(blob, what, group.selector(), group.limits, report, layer.ref.diff_id)
    skipped = SkippedFiles()
    analyze_walk(walk, group, result, skipped)
    result.links = report.links or {}
    _hardlinked(result, report.hardlinks)
    result.warnings.extend(f"{what}: {line}" for line in skipped.warnings())
    return result


def analyze_tree(root: Path, group: AnalyzerGroup) -> LayerResult:
    """Walk a directory as if it were a single layer (in two processes when there are
    two CPUs, no other thread and a tree large enough to repay the split: `tree_split.py`)."""
    from stockade.scan import tree_split
    from stockade.scan.walker import list_tree_head, walk_directory

    listings = None
    if tree_split.may_fork():
        listings, whole = list_tree_head(
            root, group.limits, tree_split.SPLIT_MIN_ENTRIES, group.declared_names()
        )
        units = [] if whole else tree_split.units_of(root, group, listings)
        if len(units) > 1:
            return tree_split.merged(tree_split.analyze_units(root, group, units, listings))
    report = _report(group)
    result = _result(report)
    skipped = SkippedFiles()
    selector = group.selector(seekable=True)
    walk = walk_directory(root, selector, group.limits, report, listings=listings)
    analyze_walk(walk, group, result, skipped)
    result.links = report.links or {}
    result.warnings.extend(skipped.warnings())
    return result
