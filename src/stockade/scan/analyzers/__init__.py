"""Analyzers, one per kind of file; `load_builtin()` registers them all."""

from __future__ import annotations

import importlib

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
    "load_builtin",
    "register",
]

BUILTIN_MODULES = (
    "stockade.scan.analyzers.os_release",
    "stockade.scan.analyzers.dpkg",
    "stockade.scan.analyzers.dpkg_copyright",
    "stockade.scan.analyzers.apk",
    "stockade.scan.analyzers.rpm",
    "stockade.scan.analyzers.python_pkg",
    "stockade.scan.analyzers.npm",
    "stockade.scan.analyzers.npm_lock",
    "stockade.scan.analyzers.gobinary",
    "stockade.scan.analyzers.jar",
    "stockade.scan.analyzers.gemspec",
    "stockade.scan.secrets.analyzer",
    "stockade.scan.misconfig.analyzer",
    "stockade.scan.malware.analyzer",
)


def load_builtin() -> None:
    """Import every built-in analyzer module (each registers itself once)."""
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
