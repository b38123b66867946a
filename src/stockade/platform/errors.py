"""The platform's exceptions: one base, with one-line messages (what, where, what to do)."""

from __future__ import annotations

from stockade.errors import USAGE_EXIT, StockadeError


class PlatformError(StockadeError):
    """Base error of the platform package; its message is one clear line."""


class DataDirError(PlatformError):
    """The data directory (or a file in it) cannot be created, read or written."""


class ListenError(PlatformError):
    """A listener cannot bind its address."""


class PlatformConfigError(PlatformError):
    """The configuration names something that does not exist (an unknown store or bus)."""

    exit_code = USAGE_EXIT
