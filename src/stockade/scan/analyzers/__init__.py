"""Analyzers, one per kind of file (the built-ins are listed in `stockade.plugins`)."""

from __future__ import annotations

from stockade.scan.analyzers.base import (
    ANALYZERS,
    Analyzer,
    AnalyzerOptions,
    FileAnalysis,
    OSInfo,
    register,
)

__all__ = [
    "ANALYZERS",
    "Analyzer",
    "AnalyzerOptions",
    "FileAnalysis",
    "OSInfo",
    "register",
]
