"""Severity from CVSS vectors (base score computed) and from the sources' own ratings."""

from __future__ import annotations

import cvss  # type: ignore[import-untyped]
from cvss.exceptions import CVSSError  # type: ignore[import-untyped]

from stockade.model.inventory import Severity

_RATINGS = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "important": Severity.HIGH,
    "moderate": Severity.MEDIUM,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "negligible": Severity.LOW,
    "unimportant": Severity.LOW,
}


def from_score(score: float) -> Severity:
    """The CVSS v3 qualitative rating of a base score."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return Severity.UNKNOWN


def from_rating(rating: str) -> Severity:
    """A source's word for severity ("HIGH", "moderate", "low**") as a Severity."""
    return _RATINGS.get(rating.strip().strip("*").lower(), Severity.UNKNOWN)


def base_score(vector: str) -> float:
    """The CVSS base score of a v2, v3.x or v4.0 vector; 0.0 when it does not parse."""
    text = vector.strip()
    try:
        if text.startswith("CVSS:4"):
            return float(cvss.CVSS4(text).base_score)
        if text.startswith("CVSS:3"):
            return float(cvss.CVSS3(text).scores()[0])
        return float(cvss.CVSS2(text).scores()[0])
    except (CVSSError, ValueError, KeyError):
        return 0.0
