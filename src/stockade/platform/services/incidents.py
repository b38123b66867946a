"""Incidents: alerts grouped as they are stored, worked by analysts, told as a storyline."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass

from stockade.detect.incidents import (
    DEFAULT_WINDOW_NS,
    AlertFacts,
    IncidentDraft,
    group_alerts,
    lineage_of,
    priority_of,
    process_key,
)
from stockade.detect.storyline import Offender, StoryEvent, Storyline, build_storyline
from stockade.model.alerts import Alert
from stockade.model.entities import HOST_CONTAINER_ID
from stockade.model.events import Event
from stockade.model.wire import Batch
from stockade.platform.bus import BATCHES, Bus
from stockade.platform.messages import IngestBatch
from stockade.platform.store import EventQuery, Store, StoredAlert, StoreError
from stockade.platform.store.incidents import (
    IncidentChange,
    IncidentNote,
    IncidentQuery,
    IncidentReads,
    IncidentRecord,
    IncidentStore,
)
from stockade.platform.store.runner import StoreRunner
from stockade.platform.timestamps import parse_ns

log = logging.getLogger(__name__)
MAX_ALERTS_SHOWN = 1_000  # an incident's page lists its first alerts; the count says all
STORY_LOOKBACK_NS = 10 * 60 * 1_000_000_000  # events before the first alert that set it up
STORY_AFTER_NS = 60 * 1_000_000_000
MAX_STORY_EVENTS = 20_000
BACKFILL_BATCH = 500  # alerts per write transaction: ingest waits no longer than that
BACKFILL_EVERY_S = 60.0


def alert_facts(alert: Alert, event: Event | None) -> AlertFacts:
    """What grouping needs of an alert, with its event where stored."""
    try:
        ts = parse_ns(alert.time)
    except ValueError:
        ts = event.ts if event is not None else 0
    container = alert.container_id or (event.container.id if event is not None else "")
    container = container or HOST_CONTAINER_ID
    on_host = container == HOST_CONTAINER_ID
    return AlertFacts(
        seq=alert.seq,
        ts=ts,
        host_id=alert.host_id or (event.host_id if event is not None else ""),
        container_id=container,
        priority=priority_of(alert),
        rule=alert.rule,
        lineage=lineage_of(event, alert) if on_host else frozenset(),
    )


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    """An incident with its alerts, analysts' notes and storyline."""

    incident: IncidentRecord
    alerts: list[StoredAlert]
    notes: list[IncidentNote]
    storyline: Storyline


class IncidentService:
    """Groups each stored batch's alerts into incidents; reads and changes incidents."""

    def __init__(
        self,
        store: Store,
        incidents: IncidentStore,
        runner: StoreRunner,
        window_ns: int = DEFAULT_WINDOW_NS,
    ) -> None:
        self._store = store
        self._incidents = incidents
        self._runner = runner
        self._window_ns = window_ns

    def attach(self, bus: Bus) -> None:
        """Subscribe to the batches subject (after the store worker: alerts are stored)."""
        bus.subscribe(BATCHES, self.handle)

    async def handle(self, ingest: IngestBatch) -> None:
        """Group the batch's new alerts; a failure is logged, never refuses the batch."""
        if not ingest.batch.alerts:
            return
        try:
            await self._runner.write(self.group_batch, ingest.batch)
        except StoreError as e:
            log.error("alerts of agent %s left out of incidents: %s", ingest.batch.agent_id, e)

    def group_batch(self, batch: Batch) -> list[int]:
        """Group the batch's stored, ungrouped alerts (reads and writes in one store write
        transaction, so no other grouping runs in between, in this process or another);
        the ids of the incidents that gained alerts."""
        plan = functools.partial(self._plan, batch)
        return self._incidents.group(batch.agent_id, plan, time.time_ns())

    def _plan(self, batch: Batch, reads: IncidentReads) -> list[IncidentDraft]:
        agent = batch.agent_id
        todo = reads.ungrouped_alerts(agent, [a.seq for a in batch.alerts])
        if not todo:
            return []
        events = {e.seq: e for e in batch.events}
        alerts = [a for a in batch.alerts if a.seq in todo]
        return self._group(agent, alerts, events, reads)

    def _plan_stored(
        self, agent: str, seqs: list[int], taken: list[int], reads: IncidentReads
    ) -> list[IncidentDraft]:
        alerts = reads.stored_ungrouped(agent, seqs)  # another worker may have grouped some
        taken.append(len(alerts))
        return self._group(agent, alerts, {}, reads) if alerts else []

    def _group(
        self, agent: str, alerts: list[Alert], events: dict[int, Event], reads: IncidentReads
    ) -> list[IncidentDraft]:
        facts = []
        for alert in alerts:
            event = events.get(alert.event_seq)
            if event is None and alert.event_seq:
                event = reads.stored_event(agent, alert.event_seq)
            facts.append(alert_facts(alert, event))
        since = min(f.ts for f in facts) - self._window_ns
        candidates = reads.open_incidents({f.host_id for f in facts}, since)
        return group_alerts(facts, candidates, self._window_ns)

    async def backfill(self, limit: int = BACKFILL_BATCH) -> int:
        """Group up to `limit` of the oldest alerts left in no incident (stored before
        grouping existed, or when grouping failed), each agent's in one write transaction
        as a batch's are; how many were grouped."""
        backlog = await self._runner.read(self._incidents.backlog, limit)
        by_agent: dict[str, list[int]] = {}
        for agent, seq in backlog:
            by_agent.setdefault(agent, []).append(seq)
        taken: list[int] = []
        for agent, seqs in by_agent.items():
            plan = functools.partial(self._plan_stored, agent, seqs, taken)
            await self._runner.write(self._incidents.group, agent, plan, time.time_ns())
        return sum(taken)

    async def run_backfill(self, every_s: float = BACKFILL_EVERY_S) -> None:
        """Backfill until cancelled: batch after batch while alerts wait, then every
        `every_s`; a store error is logged and tried again later."""
        while True:
            try:
                grouped = await self.backfill()
            except StoreError as e:
                log.warning("incident backfill: %s; next try in %.0f s", e, every_s)
                grouped = 0
            except Exception:  # a bug must not end the backfill silently for good
                log.exception("incident backfill failed; next try in %.0f s", every_s)
                grouped = 0
            if grouped:
                log.info("grouped %d alerts left out of incidents", grouped)
            if grouped < BACKFILL_BATCH:
                await asyncio.sleep(every_s)

    async def page(self, query: IncidentQuery) -> list[IncidentRecord]:
        """Incidents matching the query, latest activity first."""
        return await self._runner.read(self._incidents.list_incidents, query)

    async def detail(self, incident_id: int, budget_s: float) -> IncidentDetail | None:
        """One incident with its alerts, notes and storyline; None if no such incident."""
        return await self._runner.read(self._detail, incident_id, budget_s)

    def _detail(self, incident_id: int, budget_s: float) -> IncidentDetail | None:
        incident = self._incidents.get_incident(incident_id)
        if incident is None:
            return None
        alerts = self._incidents.incident_alerts(incident_id, MAX_ALERTS_SHOWN)
        notes = self._incidents.incident_notes(incident_id)
        return IncidentDetail(incident, alerts, notes, self._storyline(incident, alerts, budget_s))

    def _storyline(
        self, incident: IncidentRecord, alerts: list[StoredAlert], budget_s: float
    ) -> Storyline:
        on_host = incident.container_id == HOST_CONTAINER_ID
        query = EventQuery(
            since=incident.first_ts - STORY_LOOKBACK_NS,
            until=incident.last_ts + STORY_AFTER_NS,
            # a container id is unique: its own index, not the whole host's events
            host=incident.host_id if on_host else None,
            container=incident.container_id,
            limit=MAX_STORY_EVENTS,
            budget_s=budget_s,
        )
        stored = self._store.query_events(query)
        offenders = [self._offender(a) for a in alerts]
        events = [StoryEvent(s.agent_id, s.event) for s in stored]
        if on_host:  # only the processes of the incident's ancestry, not the whole host's
            events = [s for s in events if _touches(s.event, set(incident.lineage))]
        return build_storyline(events, offenders, on_host=on_host)

    def _offender(self, stored: StoredAlert) -> Offender:
        alert = stored.alert
        event = (
            self._incidents.stored_event(stored.agent_id, alert.event_seq)
            if alert.event_seq
            else None
        )
        pid = event.proc.pid if event is not None else stored.proc_pid
        start = event.proc.start_ns if event is not None else 0
        try:
            ts = parse_ns(alert.time)
        except ValueError:
            ts = event.ts if event is not None else 0
        return Offender(pid=pid, start_ns=start, rule=alert.rule, ts=ts, alert_uuid=alert.uuid)

    async def change(self, incident_id: int, change: IncidentChange) -> IncidentRecord | None:
        """Apply a user's change; None if no such incident."""
        return await self._runner.write(
            self._incidents.change_incident, incident_id, change, time.time_ns()
        )


def _touches(event: Event, lineage: set[str]) -> bool:
    """True when the event's process or one of its ancestors is in the lineage."""
    keys = {process_key(event.proc.pid, event.proc.start_ns)}
    keys.update(process_key(a.pid, a.start_ns) for a in event.ancestors)
    return bool(keys & lineage)
