"""Grouping alerts into incidents: same container, or same process ancestry on a host,
within a window (pure: values in, a plan of what to store out).

An alert that more than one open incident takes (its process ancestry ties two host
incidents together, or it falls between two incidents of one container within the window
of each) merges them: the older incident (the lowest stored id) absorbs the others."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from stockade.model.alerts import Alert, Priority
from stockade.model.entities import HOST_CONTAINER_ID
from stockade.model.events import Event

DEFAULT_WINDOW_NS = 30 * 60 * 1_000_000_000
HOST_LINEAGE_DEPTH = 2  # a host alert's process, its parent and grandparent tie it to others
_SYSTEM_PIDS = frozenset({0, 1, 2})  # init and kthreadd are everyone's ancestors


def process_key(pid: int, start_ns: int) -> str:
    """One process across pid reuse: its pid and start time."""
    return f"{pid}:{start_ns}"


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What grouping needs to know of one stored alert."""

    seq: int  # the alert's sequence, unique per agent
    ts: int
    host_id: str
    container_id: str
    priority: int  # Priority value: lower is more severe
    rule: str
    lineage: frozenset[str] = frozenset()  # process keys that tie a host alert to others

    @property
    def on_host(self) -> bool:
        """True for an alert outside any container (grouped by ancestry)."""
        return self.container_id in ("", HOST_CONTAINER_ID)


@dataclass(slots=True)
class IncidentDraft:
    """An incident as grouping sees it: an open stored one (id set) or a new one (id 0)."""

    host_id: str
    container_id: str
    first_ts: int
    last_ts: int
    severity: int  # the most severe alert's Priority value
    title: str  # the first alert's rule
    lineage: set[str] = field(default_factory=set)
    id: int = 0
    alert_seqs: list[int] = field(default_factory=list)  # alerts this grouping added
    merged_ids: list[int] = field(default_factory=list)  # stored incidents it absorbed

    def takes(self, alert: AlertFacts, window_ns: int) -> bool:
        """True when `alert` belongs here: same origin, within the window of its alerts."""
        if alert.host_id != self.host_id or alert.ts > self.last_ts + window_ns:
            return False
        if alert.ts < self.first_ts - window_ns:
            return False
        if alert.on_host:
            return self.container_id in ("", HOST_CONTAINER_ID) and bool(
                alert.lineage & self.lineage
            )
        return alert.container_id == self.container_id

    def add(self, alert: AlertFacts) -> None:
        """Count `alert` in: times, severity and lineage widen."""
        self.first_ts = min(self.first_ts, alert.ts)
        self.last_ts = max(self.last_ts, alert.ts)
        self.severity = min(self.severity, alert.priority)
        self.lineage |= alert.lineage
        self.alert_seqs.append(alert.seq)

    def absorb(self, other: IncidentDraft) -> None:
        """Take `other` in: its times, severity, lineage, new alerts and stored id."""
        if other.first_ts < self.first_ts:
            self.title = other.title  # the rule of the first alert of both
        self.first_ts = min(self.first_ts, other.first_ts)
        self.last_ts = max(self.last_ts, other.last_ts)
        self.severity = min(self.severity, other.severity)
        self.lineage |= other.lineage
        self.alert_seqs += other.alert_seqs
        self.merged_ids += ([other.id] if other.id else []) + other.merged_ids


def group_alerts(
    alerts: Iterable[AlertFacts], open_incidents: Sequence[IncidentDraft], window_ns: int
) -> list[IncidentDraft]:
    """Assign each alert (in time order) to the open incident that takes it, else to a new
    one; several that take it merge into the oldest. Returns the incidents that gained
    alerts (their `merged_ids` name the stored incidents they absorbed)."""
    candidates = sorted(open_incidents, key=lambda d: (d.first_ts, d.id))
    for alert in sorted(alerts, key=lambda a: (a.ts, a.seq)):
        homes = [d for d in candidates if d.takes(alert, window_ns)]
        home = _merge(homes, candidates) if homes else None
        if home is None:
            home = IncidentDraft(
                host_id=alert.host_id,
                container_id=alert.container_id or HOST_CONTAINER_ID,
                first_ts=alert.ts,
                last_ts=alert.ts,
                severity=alert.priority,
                title=alert.rule,
            )
            candidates.append(home)
        home.add(alert)
    return [d for d in candidates if d.alert_seqs]


def _merge(homes: list[IncidentDraft], candidates: list[IncidentDraft]) -> IncidentDraft:
    """One incident of `homes`: the lowest stored id (else the first) absorbs the others,
    which leave `candidates`."""
    stored = [d for d in homes if d.id]
    keeper = min(stored, key=lambda d: d.id) if stored else homes[0]
    for other in homes:
        if other is not keeper:
            keeper.absorb(other)
            candidates.remove(other)
    return keeper


def lineage_of(event: Event | None, alert: Alert) -> frozenset[str]:
    """The processes tying a host alert to others: its own and its nearest ancestors,
    never init or kthreadd (everyone's ancestors)."""
    if event is None:
        pid = alert.output_fields.get("proc.pid")
        return frozenset({process_key(pid, 0)}) if isinstance(pid, int) and pid > 2 else frozenset()
    chain = [(event.proc.pid, event.proc.start_ns)]
    chain += [(a.pid, a.start_ns) for a in event.ancestors[:HOST_LINEAGE_DEPTH]]
    return frozenset(process_key(pid, start) for pid, start in chain if pid not in _SYSTEM_PIDS)


def priority_of(alert: Alert) -> int:
    """The alert's Priority value; an unknown spelling counts as the least severe."""
    try:
        return int(Priority.parse(alert.priority))
    except ValueError:
        return int(Priority.DEBUG)
