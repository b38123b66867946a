"""The `AdvisoryFormat` interface: one per advisory data format, pure (document -> advisories)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from stockade.registry import Registry
from stockade.scan.errors import ScanError
from stockade.scan.vulndb.model import Advisory


class VulnDBError(ScanError):
    """Base of the vulnerability database's errors."""


class FormatError(VulnDBError):
    """A document that claims a format but breaks it."""


class AdvisoryFormat(ABC):
    """Turns one parsed document (JSON or YAML) of a known format into advisories."""

    name: str

    @abstractmethod
    def accepts(self, doc: Any) -> bool:
        """True when `doc` looks like this format."""

    @abstractmethod
    def advisories(self, doc: Any) -> Iterator[Advisory]:
        """The advisories in `doc` (withdrawn or not-applicable entries left out)."""


FORMATS: Registry[AdvisoryFormat] = Registry("advisory format")


def detect(doc: Any) -> AdvisoryFormat | None:
    """The first registered format that accepts `doc`, or None."""
    for key in FORMATS:
        if FORMATS.get(key).accepts(doc):
            return FORMATS.get(key)
    return None
