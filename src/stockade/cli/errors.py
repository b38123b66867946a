"""The root of the command line's own exceptions (each package has one root)."""

from __future__ import annotations

from stockade.errors import StockadeError


class CliError(StockadeError):
    """A command cannot go on: a wrong value, or a platform it cannot reach."""
