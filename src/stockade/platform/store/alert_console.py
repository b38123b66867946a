"""What the alert console asks of a store: pages by keyset, one alert, triage state, stats."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from stockade.platform.store.base import DEFAULT_QUERY_BUDGET_S, StoredAlert


class AlertStatus(enum.StrEnum):
    """Where an analyst's triage of an alert stands."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    FALSE_POSITIVE = "false_positive"


class AlertSort(enum.StrEnum):
    """What a page of alerts is ordered by; ties go newest first."""

    TIME = "time"  # newest first
    PRIORITY = "priority"  # most severe first
    RULE = "rule"  # by name, A to Z
    HOST = "host"  # by hostname
    CONTAINER = "container"  # by container name


@dataclass(frozen=True, slots=True)
class AlertKey:
    """Where a page ended: the sort column's value, the time and the id of its last alert."""

    value: int | str
    ts: int
    id: int


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """Which alerts a page or a stats query covers; every set field must match."""

    since: int | None = None
    until: int | None = None
    host: str | None = None  # host id or agent hostname
    agent: str | None = None  # agent id
    container: str | None = None  # full id, 12-char id or name
    image: str | None = None  # repository[:tag] exactly, or an image digest
    rule: str | None = None
    priority: str | None = None  # exact Falco spelling, case-insensitive
    min_priority: int | None = None  # Priority value: this severe or more
    status: AlertStatus | None = None
    tags: tuple[str, ...] = ()  # every one of these tags
    text: str | None = None  # words found in rule, output, command line, names or tags


@dataclass(frozen=True, slots=True)
class AlertPageQuery:
    """One page of alerts: a filter, an order, and where the previous page ended."""

    filter: AlertFilter = field(default_factory=AlertFilter)
    sort: AlertSort = AlertSort.TIME
    reverse: bool = False  # the exact reverse of the sort's own order
    after: AlertKey | None = None
    limit: int = 50
    budget_s: float = DEFAULT_QUERY_BUDGET_S


@dataclass(frozen=True, slots=True)
class AlertTriage:
    """An alert's stored id with its triage state."""

    id: int
    status: AlertStatus
    status_by: str  # who set the status; "" while new
    status_at: int | None


@dataclass(frozen=True, slots=True)
class ConsoleAlert:
    """A stored alert as the console lists it."""

    stored: StoredAlert
    triage: AlertTriage
    raw: str  # the alert's JSON as stored


@dataclass(frozen=True, slots=True)
class AlertPage:
    """Alerts of one page and the key to ask for the next (None on the last page)."""

    alerts: list[ConsoleAlert]
    next: AlertKey | None


@dataclass(frozen=True, slots=True)
class Tally:
    """How many alerts (rows) and occurrences (their aggregated counts) a group has."""

    key: str
    alerts: int
    occurrences: int
    label: str = ""  # a readable name for the key (a container's name)


@dataclass(frozen=True, slots=True)
class AlertStats:
    """The dashboard's figures over a time window."""

    since: int
    until: int
    bucket_ns: int
    series: list[tuple[int, int, int]]  # (bucket index, priority value, alerts)
    top_rules: list[Tally]
    top_containers: list[Tally]
    top_images: list[Tally]
    by_status: list[Tally]


@runtime_checkable
class AlertConsoleStore(Protocol):
    """The store calls the alert console makes."""

    def page_alerts(self, query: AlertPageQuery) -> AlertPage:
        """One page in the query's order; QueryTimeout past its budget."""

    def get_alert(self, alert_id: int) -> ConsoleAlert | None:
        """One stored alert, if it exists."""

    def set_alert_status(
        self, alert_id: int, status: AlertStatus, username: str, now: int
    ) -> ConsoleAlert | None:
        """Record who set an alert's status and when; None when there is no such alert."""

    def alert_stats(
        self, since: int, until: int, buckets: int, budget_s: float = DEFAULT_QUERY_BUDGET_S
    ) -> AlertStats:
        """Counts over [since, until): per time bucket and priority, top groups, statuses."""
