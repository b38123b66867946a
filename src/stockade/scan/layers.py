"""Analyze one layer (or one directory tree) into a cacheable LayerResult."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from stockade.scan.analyzers import FileAnalysis
from stockade.scan.group import AnalyzerGroup
from stockade.scan.sources import ImageSource, Layer

if TYPE_CHECKING:  # the walker (and the decompressors) load only when a layer is read
    from stockade.scan.walker import WalkReport


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


def analyze_layer(source: ImageSource, layer: Layer, group: AnalyzerGroup) -> LayerResult:
    """Stream the layer once; analyze the files some analyzer asked for."""
    from stockade.scan.walker import WalkReport, walk_layer

    report = WalkReport()
    result = _result(report)
    what = f"layer {layer.ref.digest or layer.ref.diff_id}"
    blob = source.open_layer(layer)
    for info, chosen, content in walk_layer(blob, what, group.select, group.limits, report):
        analysis = group.analyze(info, chosen, content, result.warnings)
        if analysis is not None:
            result.files[info.path] = analysis
    return result


def analyze_tree(root: Path, group: AnalyzerGroup) -> LayerResult:
    """Walk a directory as if it were a single layer."""
    from stockade.scan.walker import WalkReport, walk_directory

    report = WalkReport()
    result = _result(report)
    for info, chosen, content in walk_directory(root, group.select, group.limits, report):
        analysis = group.analyze(info, chosen, content, result.warnings)
        if analysis is not None:
            result.files[info.path] = analysis
    return result
