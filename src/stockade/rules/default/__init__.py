"""Stockade's default rules: Falco-language YAML shipped with the package."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def default_rule_paths() -> list[Path]:
    """The rule files loaded when no rules are given, in load order."""
    return sorted(_HERE.glob("*.yaml"))
