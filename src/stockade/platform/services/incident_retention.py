"""Which incidents retention removes once all their alerts are gone, and the passes that do.

The rule: an incident none of whose alerts is stored any more goes, with its notes and
timeline, when it is closed (resolved or false positive), or when it is still open but
nobody worked on it (never assigned, changed or noted by a user) and its last alert is
older than the alerts' retention age. An open incident someone worked on stays until a
user closes it (the next pass removes it then), and a timeline entry says that retention
removed its alerts; so does an untouched one whose alerts the size cap removed early,
until it is as old as the alerts' age.
"""

from __future__ import annotations

import functools

from stockade.platform.store.incident_retention import (
    Cursor,
    IncidentRetention,
    OrphanIncident,
)
from stockade.platform.store.runner import StoreRunner


def incident_goes(orphan: OrphanIncident, stale_before: int | None) -> bool:
    """True when retention removes this incident (see the module's rule); `stale_before`:
    the alerts' age cutoff, None when alerts are kept whatever their age."""
    if not orphan.status.is_open:
        return True
    if orphan.worked_on:
        return False
    return stale_before is not None and orphan.last_ts < stale_before


class IncidentPruner:
    """Removes the incidents whose alerts retention removed, chunk by chunk."""

    def __init__(self, incidents: IncidentRetention, runner: StoreRunner, chunk: int) -> None:
        self._incidents = incidents
        self._runner = runner
        self._chunk = chunk

    async def prune(self, stale_before: int | None, now: int) -> int:
        """One pass over the incidents that may have lost their alerts; how many went."""
        goes = functools.partial(incident_goes, stale_before=stale_before)
        deleted = 0
        after: Cursor | None = None
        while True:
            chunk = await self._runner.write(
                self._incidents.prune_orphans, goes, after, self._chunk, now
            )
            deleted += chunk.deleted
            if chunk.after is None:
                return deleted
            after = chunk.after
