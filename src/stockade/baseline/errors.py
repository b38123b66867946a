"""The baseline package's errors."""

from __future__ import annotations

from stockade.errors import StockadeError


class BaselineError(StockadeError):
    """Root of the baseline package's errors."""


class PolicyError(BaselineError):
    """A baseline policy file is malformed: the message says file:line:column and what."""

    exit_code = 2
