"""Machine-readable scan reports: json, sarif, cyclonedx, spdx."""

from __future__ import annotations

from stockade.model.inventory import ScanResult
from stockade.scan.output.base import WRITERS, OutputError, ReportWriter

__all__ = ["FORMATS", "WRITERS", "OutputError", "ReportWriter", "write"]

FORMATS = tuple(WRITERS)


def write(result: ScanResult, fmt: str) -> bytes:
    """`result` rendered as `fmt` (json, sarif, cyclonedx or spdx)."""
    if fmt not in WRITERS:
        raise OutputError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return WRITERS.get(fmt).write(result)
