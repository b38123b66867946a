"""The `IncidentStore` interface: incidents, their notes and their alerts, beside `Store`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from stockade.detect.incidents import IncidentDraft
from stockade.model.alerts import Alert
from stockade.model.events import Event
from stockade.model.incidents import IncidentStatus
from stockade.platform.store.base import StoredAlert


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """An incident as stored, with its container's name and image and its host's name."""

    id: int
    host_id: str
    container_id: str
    title: str  # the rule of its first alert
    severity: int  # the most severe alert's Priority value
    status: IncidentStatus
    assignee: str  # "" while unassigned
    first_ts: int
    last_ts: int
    alert_count: int
    created_at: int
    updated_at: int
    lineage: tuple[str, ...]  # host incidents: the processes (pid:start) tying its alerts
    hostname: str = ""
    container_name: str = ""
    image: str = ""


@dataclass(frozen=True, slots=True)
class IncidentNote:
    """One entry an analyst added to an incident's timeline: a note, a status or assignee."""

    ts: int
    username: str
    kind: str  # note | status | assignee
    text: str


@dataclass(frozen=True, slots=True)
class IncidentQuery:
    """Filters for incidents; every set field must match. Latest activity first."""

    statuses: tuple[IncidentStatus, ...] = ()
    min_severity: int | None = None  # Priority value: this severe or more
    host: str | None = None  # host id or agent hostname
    after: tuple[int, int] | None = None  # the cursor: (last_ts, id) of the previous page's last
    limit: int = 50


@dataclass(frozen=True, slots=True)
class IncidentChange:
    """What a user changes on an incident; None leaves a field as it is."""

    username: str
    status: IncidentStatus | None = None
    assignee: str | None = None
    note: str | None = None


class IncidentReads(Protocol):
    """What grouping a batch's alerts reads, inside the transaction that stores the result."""

    def ungrouped_alerts(self, agent_id: str, seqs: list[int]) -> set[int]:
        """Of these alert sequences, those stored and not yet in an incident."""

    def stored_ungrouped(self, agent_id: str, seqs: list[int]) -> list[Alert]:
        """Of these alerts, those stored and not yet in an incident, as stored."""

    def stored_event(self, agent_id: str, seq: int) -> Event | None:
        """One stored event, if kept."""

    def open_incidents(self, host_ids: set[str], since_ts: int) -> list[IncidentDraft]:
        """Open incidents of these hosts with an alert at or after `since_ts`."""


class IncidentStore(Protocol):
    """Durable incidents; the alerts table carries each alert's `incident_id`."""

    def backlog(self, limit: int) -> list[tuple[str, int]]:
        """The oldest stored alerts in no incident, up to `limit`: (agent id, seq) each;
        saved hunts' alerts (a search's result, of no host) are never grouped."""

    def stored_event(self, agent_id: str, seq: int) -> Event | None:
        """One stored event, if kept."""

    def group(
        self, agent_id: str, plan: Callable[[IncidentReads], list[IncidentDraft]], now: int
    ) -> list[int]:
        """Make the drafts with `plan` from reads in one write transaction, then store them
        (new incidents, widened ones, their new alerts marked); the incidents' ids. No
        other grouping, in any process, runs between the plan's reads and the writes."""

    def list_incidents(self, query: IncidentQuery) -> list[IncidentRecord]:
        """Incidents matching the query, latest activity first."""

    def get_incident(self, incident_id: int) -> IncidentRecord | None:
        """One incident, if any."""

    def incident_alerts(self, incident_id: int, limit: int) -> list[StoredAlert]:
        """The incident's alerts, oldest first."""

    def incident_notes(self, incident_id: int) -> list[IncidentNote]:
        """The incident's notes and changes, oldest first."""

    def change_incident(
        self, incident_id: int, change: IncidentChange, now: int
    ) -> IncidentRecord | None:
        """Apply a user's change, noting each part on the timeline; None if no such incident."""
