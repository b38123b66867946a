"""Analyze one layer (or one directory tree) into a cacheable LayerResult."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from stockade.scan.analyzers import FileAnalysis
from stockade.scan.files import FileInfo
from stockade.scan.group import AnalyzerGroup
from stockade.scan.selection import SkippedFiles
from stockade.scan.sources import ImageSource, Layer
from stockade.scan.sources.blobstore import VerifyingReader

if TYPE_CHECKING:  # the walker (and the decompressors) load only when a layer is read
    from stockade.scan.walker import WalkReport


_READ_BYTES = 1024 * 1024


class LayerResult(msgspec.Struct, kw_only=True):
    """What one layer holds and removes: per-file results, whiteouts, opaque directories."""

    files: dict[str, FileAnalysis] = msgspec.field(default_factory=dict)
    whiteouts: list[str] = msgspec.field(default_factory=list)
    opaque_dirs: list[str] = msgspec.field(default_factory=list)
    warnings: list[str] = msgspec.field(default_factory=list)


def _result(report: WalkReport) -> LayerResult:
    return LayerResult(
        whiteouts=report.whiteouts, opaque_dirs=report.opaque_dirs, warnings=report.warnings
    )


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
    from stockade.scan.walker import WalkReport, walk_layer

    report = WalkReport()
    result = _result(report)
    what = _what(layer)
    blob = source.open_layer(layer)
    walk = walk_layer(blob, what, group.select, group.limits, report, layer.ref.diff_id)
    skipped = SkippedFiles()
    for info, chosen, content in walk:
        analysis = group.analyze(info, chosen, content, result.warnings, skipped)
        if analysis is not None:
            result.files[info.path] = analysis
    result.warnings.extend(f"{what}: {line}" for line in skipped.warnings())
    return result


def analyze_tree(root: Path, group: AnalyzerGroup) -> LayerResult:
    """Walk a directory as if it were a single layer (in two processes when there are
    two CPUs, no other thread and a tree large enough to repay the split: `tree_split.py`)."""
    from stockade.scan import tree_split
    from stockade.scan.walker import WalkReport, list_small_tree, walk_directory

    listings = None
    if tree_split.may_fork():
        listings = list_small_tree(
            root, group.limits, tree_split.SPLIT_MIN_ENTRIES, group.picks_by_name
        )
        units = tree_split.units_of(root, group) if listings is None else []
        if len(units) > 1:
            files, warnings = tree_split.merged(tree_split.analyze_units(root, group, units))
            return LayerResult(files=files, warnings=warnings)
    report = WalkReport()
    result = _result(report)
    skipped = SkippedFiles()
    walk = walk_directory(root, group.select_seekable, group.limits, report, listings=listings)
    for info, chosen, content in walk:
        analysis = group.analyze(info, chosen, content, result.warnings, skipped)
        if analysis is not None:
            result.files[info.path] = analysis
    result.warnings.extend(skipped.warnings())
    return result
