"""The `IncidentRetention` interface: incidents whose alerts retention removed, beside
`Store`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from stockade.model.incidents import IncidentStatus

RETENTION_NOTE = "retention"  # the timeline entry's kind: retention removed its alerts


@dataclass(frozen=True, slots=True)
class OrphanIncident:
    """An incident none of whose alerts is stored any more."""

    id: int
    status: IncidentStatus
    last_ts: int
    worked_on: bool  # assigned, or a user changed it or wrote a note
    noted: bool  # its timeline says already that retention removed its alerts


Cursor = tuple[int, int]  # (last_ts, id) of the last incident a chunk looked at


@dataclass(frozen=True, slots=True)
class OrphanChunk:
    """What one chunk did: incidents deleted, incidents kept (noted on their timeline), and
    where the next chunk starts (None: none left)."""

    deleted: int
    kept: int
    after: Cursor | None


class IncidentRetention(Protocol):
    """Removes incidents that lost all their alerts, as a rule decides."""

    def prune_orphans(
        self, goes: Callable[[OrphanIncident], bool], after: Cursor | None, limit: int, now: int
    ) -> OrphanChunk:
        """In one write transaction, look at up to `limit` incidents (oldest activity first,
        past `after`) that may have lost their alerts; of those with no alert left, delete
        (with their notes) those `goes` picks and note on the others' timelines, once,
        that retention removed their alerts."""
