"""Incidents: alerts of one container or process ancestry, worked as one case."""

from __future__ import annotations

import enum


class IncidentStatus(enum.StrEnum):
    """Where an analyst is with an incident; new alerts join only open ones."""

    NEW = "new"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    FALSE_POSITIVE = "false_positive"

    @property
    def is_open(self) -> bool:
        """True while new alerts of its container or ancestry still join it."""
        return self in (IncidentStatus.NEW, IncidentStatus.INVESTIGATING)


OPEN_STATUSES: tuple[IncidentStatus, ...] = tuple(s for s in IncidentStatus if s.is_open)
