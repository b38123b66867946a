"""Vulnerability advisories: format loaders, the local SQLite database and its import."""

from __future__ import annotations

from stockade.scan.vulndb.formats import FORMATS, AdvisoryFormat, FormatError, VulnDBError
from stockade.scan.vulndb.importer import ImportReport, import_location
from stockade.scan.vulndb.model import Advisory, Affected, AffectedRange, RangeEvent
from stockade.scan.vulndb.store import DEFAULT_PATH, Candidate, SourceStatus, VulnDB, open_db

__all__ = [
    "DEFAULT_PATH",
    "FORMATS",
    "Advisory",
    "AdvisoryFormat",
    "Affected",
    "AffectedRange",
    "Candidate",
    "FormatError",
    "ImportReport",
    "RangeEvent",
    "SourceStatus",
    "VulnDB",
    "VulnDBError",
    "import_location",
    "open_db",
]
