"""Stockade's own JSON report: the ScanResult as it is, severities by name."""

from __future__ import annotations

from stockade.model.inventory import ScanResult
from stockade.scan.jsonreport import SCHEMA, encode_report
from stockade.scan.output.base import WRITERS, ReportWriter

__all__ = ["SCHEMA", "JsonReportWriter"]


class JsonReportWriter(ReportWriter):
    """Pretty JSON of the whole result."""

    name = "json"
    media_type = "application/json"

    def write(self, result: ScanResult) -> bytes:
        """The result with a schema marker; findings' severities as names (HIGH, ...)."""
        return encode_report(result)


WRITERS.register("json", JsonReportWriter())
