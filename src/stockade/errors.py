"""The root of Stockade's exceptions: every package's own root derives from `StockadeError`.

The CLI catches `StockadeError` in one place and prints its message as one line, so a
message says what was wrong, where, and what to do. Exceptions that are not a
`StockadeError` are bugs, and keep their traceback.
"""

from __future__ import annotations

from typing import ClassVar

USAGE_EXIT = 2  # the exit status of a usage or input mistake, as click and Trivy use it


class StockadeError(Exception):
    """Base of every error Stockade raises on purpose; its message is one clear line."""

    exit_code: ClassVar[int] = 1  # the CLI's exit status; USAGE_EXIT for the user's mistakes


class UsageError(StockadeError):
    """A command line asks for something that cannot work (bad option value, missing input)."""

    exit_code = USAGE_EXIT
