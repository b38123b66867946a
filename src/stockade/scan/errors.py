"""Errors raised while scanning images and filesystems."""

from __future__ import annotations

from stockade.errors import USAGE_EXIT, StockadeError


class ScanError(StockadeError):
    """Base of every error the scanner raises."""

    exit_code = USAGE_EXIT  # a scan fails on what it was given: the image, path or database


class SourceError(ScanError):
    """An image source cannot be opened or is malformed (missing manifest, blob, layer)."""


class DigestMismatchError(SourceError):
    """A blob's content does not match the digest that names it; `file` is the file in the
    layer whose content failed the check, when the reader could name it ("" otherwise)."""

    def __init__(self, message: str, file: str = "") -> None:
        super().__init__(message)
        self.file = file


class LayerError(ScanError):
    """A layer stream cannot be read (corrupt or truncated compression, bad tar)."""


class LimitExceededError(LayerError):
    """A layer expands past the configured size limit (a decompression bomb)."""


class RuleError(ScanError):
    """A rule file (secret rules, misconfiguration checks, YARA rules) is invalid."""
