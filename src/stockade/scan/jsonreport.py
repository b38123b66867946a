"""Stockade's JSON report (`stockade scan image -f json`): the ScanResult, severities by name.

Reading it back is here too, light enough for the platform, which stores reports that
users upload; it also takes the plain ScanResult JSON (severities as numbers) that
agents sent before scans had their own upload format.
"""

from __future__ import annotations

from typing import Any

import msgspec

from stockade.model.inventory import ScanResult, Severity
from stockade.scan.errors import ScanError

SCHEMA = "stockade.scan.v1"


class ReportError(ScanError):
    """A document that is not a Stockade JSON report."""


def encode_report(result: ScanResult) -> bytes:
    """The report: a schema marker, then the result with findings' severities as names."""
    doc = {"schema": SCHEMA, **msgspec.to_builtins(result)}
    for finding in doc["findings"]:
        finding["severity"] = Severity(finding["severity"]).name
    return msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n"


def _severity(value: Any) -> Any:
    if isinstance(value, str) and value.upper() in Severity.__members__:
        return int(Severity[value.upper()])
    return value  # a number, or something convert() will refuse with a path


def decode_report(data: bytes) -> ScanResult:
    """The ScanResult of a JSON report; ReportError saying where it is not one."""
    try:
        doc = msgspec.json.decode(data)
        if isinstance(doc, dict) and isinstance(doc.get("findings"), list):
            for finding in doc["findings"]:
                if isinstance(finding, dict):
                    finding["severity"] = _severity(finding.get("severity"))
        return msgspec.convert(doc, ScanResult)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise ReportError(f"not a scan report: {e}") from e
    except RecursionError as e:
        raise ReportError("not a scan report: JSON nested too deeply") from e
