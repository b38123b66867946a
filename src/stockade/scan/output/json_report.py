"""Stockade's own JSON report: the ScanResult as it is, severities by name."""

from __future__ import annotations

import msgspec

from stockade.model.inventory import ScanResult, Severity
from stockade.scan.output.base import WRITERS, ReportWriter

SCHEMA = "stockade.scan.v1"


class JsonReportWriter(ReportWriter):
    """Pretty JSON of the whole result."""

    name = "json"
    media_type = "application/json"

    def write(self, result: ScanResult) -> bytes:
        """The result with a schema marker; findings' severities as names (HIGH, ...)."""
        doc = {"schema": SCHEMA, **msgspec.to_builtins(result)}
        for finding in doc["findings"]:
            finding["severity"] = Severity(finding["severity"]).name
        return msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n"


WRITERS.register("json", JsonReportWriter())
