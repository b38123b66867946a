"""The `ReportWriter` interface: one per output format, ScanResult -> bytes."""

from __future__ import annotations

from abc import ABC, abstractmethod

from stockade.model.inventory import ScanResult
from stockade.registry import Registry
from stockade.scan.errors import ScanError

TOOL_NAME = "stockade"
TOOL_URI = "https://github.com/stockade/stockade"


class OutputError(ScanError):
    """Base of the output writers' errors."""


class ReportWriter(ABC):
    """Renders one scan result in one machine-readable format."""

    name: str
    media_type: str

    @abstractmethod
    def write(self, result: ScanResult) -> bytes:
        """The whole document, UTF-8 encoded."""


WRITERS: Registry[ReportWriter] = Registry("output format")
