"""Fleet correlations: judged by the platform's workers over the alerts and events of
every host, where one agent sees only its own.

Two kinds (declared in correlation YAML with `scope: fleet`, see `fleet_load.py`):
- spread: alerts of one group (the same rule, image or ATT&CK technique) on at least N
  distinct hosts within a window: a worm or a campaign moving through the fleet;
- lateral: a connection from a workload on host A to an address of host B, followed
  within the window by an alert on host B.

This module is pure: it turns a batch into `Signal`s (what the shared state must keep),
finds the window where a spread reaches its hosts, and makes the alert of a `Fire`.
Workers keep the signals in the store and judge them there, so alerts of one group that
reach different workers still meet (`platform/services/fleet_correlation.py`).
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stockade.model import Alert, Event, Priority
from stockade.model.alerts import new_alert
from stockade.model.wire import Batch

FLEET_AGENT = "fleet"  # the agent_id of the alerts fleet correlations raise
TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
SERVER_SIDE_TYPES = frozenset({"accept", "accept4"})  # their local address is the host's
FIELD_MARK = re.compile(r"%(fleet\.[a-z_]+)")


class FleetKind(enum.Enum):
    """What a fleet correlation looks for."""

    SPREAD = "spread"
    LATERAL = "lateral"


class GroupBy(enum.Enum):
    """What makes alerts on several hosts one spread."""

    RULE = "rule"
    IMAGE = "image"
    TECHNIQUE = "technique"


OUTPUT_FIELDS = {
    FleetKind.SPREAD: ("fleet.group", "fleet.hosts", "fleet.host_ids", "fleet.window_s"),
    FleetKind.LATERAL: (
        *("fleet.source_host", "fleet.target_host", "fleet.address", "fleet.rule"),
        "fleet.window_s",
    ),
}


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """Which agent alerts count: at least this severe, and of these rules or tags if given."""

    min_priority: Priority = Priority.WARNING
    rules: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    def matches(self, alert: Alert) -> bool:
        """True when the alert counts."""
        try:
            priority = Priority.parse(alert.priority)
        except ValueError:
            return False
        if priority > self.min_priority:
            return False
        if self.rules and alert.rule not in self.rules:
            return False
        return not self.tags or bool(self.tags & set(alert.tags))


@dataclass(frozen=True, slots=True)
class FleetCorrelation:
    """One compiled fleet correlation."""

    name: str
    kind: FleetKind
    alerts: AlertFilter
    window_ns: int
    suppress_ns: int
    priority: Priority
    output: str
    hosts: int = 2  # spread: distinct hosts that fire it
    group_by: GroupBy = GroupBy.RULE
    # lateral: which events are connections, and their destination address
    connection: Callable[[Event], bool] | None = None
    destination: Callable[[Event], Any] | None = None
    connection_types: frozenset[str] | None = None  # None: any event type may be one
    tags: tuple[str, ...] = ()
    description: str = ""
    file: str = ""
    line: int = 0


class SignalKind(enum.Enum):
    """What a signal records."""

    ALERT = "alert"
    CONNECT = "connect"


@dataclass(frozen=True, slots=True)
class Signal:
    """One record of the shared state: an alert or a connection, by correlation and key.

    key: spread: the group's value; lateral alert: its host id; connection: the address.
    detail: spread: the alert's hostname; lateral alert: its rule; connection: the process.
    """

    correlation: str
    kind: SignalKind
    key: str
    host_id: str
    ts: int
    agent_id: str
    seq: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Fire:
    """A correlation met: its group, the span of the signals that met it, the alert's host."""

    correlation: str
    group: str
    first_ts: int
    last_ts: int
    host_id: str
    fields: dict[str, str | int | float] = field(default_factory=dict)


def group_value(group_by: GroupBy, alert: Alert) -> str:
    """The alert's group for a spread ("" when it has none, e.g. no image)."""
    if group_by is GroupBy.RULE:
        return alert.rule
    if group_by is GroupBy.IMAGE:
        image = alert.output_fields.get("container.image.repository") or ""
        return str(image)
    techniques = sorted(t for t in alert.tags if TECHNIQUE.match(t))
    return techniques[0] if techniques else ""


def remote_address(value: Any) -> str:
    """The address as text when it names another machine ("" for none, loopback, any)."""
    try:
        address = ipaddress.ip_address(str(value))
    except ValueError:
        return ""
    return "" if address.is_loopback or address.is_unspecified else str(address)


def signals_of(
    correlations: Sequence[FleetCorrelation], batch: Batch, alert_ts: Callable[[Alert], int]
) -> list[Signal]:
    """What the batch adds to the fleet's shared state, for every correlation (`alert_ts`:
    an alert's own time)."""
    agent = batch.agent_id
    hosts = {e.seq: e.host_id for e in batch.events}
    found: list[Signal] = []
    for spec in correlations:
        for alert in batch.alerts:
            if not spec.alerts.matches(alert):
                continue
            host = alert.host_id or hosts.get(alert.event_seq, "")
            if spec.kind is FleetKind.SPREAD:
                key, detail = group_value(spec.group_by, alert), alert.hostname or host
            else:
                key, detail = host, alert.rule
            if key and host:
                ts = alert_ts(alert)
                found.append(
                    Signal(spec.name, SignalKind.ALERT, key, host, ts, agent, alert.seq, detail)
                )
        if spec.connection is not None and spec.destination is not None:
            found += _connections(spec, batch)
    return found


def _connections(spec: FleetCorrelation, batch: Batch) -> list[Signal]:
    assert spec.connection is not None and spec.destination is not None
    found = []
    types = spec.connection_types
    for event in batch.events:
        if types is not None and event.type not in types:
            continue
        if not event.host_id or not _safe(spec.connection, event):
            continue
        address = remote_address(_safe(spec.destination, event))
        if address:
            found.append(
                Signal(
                    *(spec.name, SignalKind.CONNECT, address, event.host_id, event.ts),
                    *(batch.agent_id, event.seq, event.proc.name),
                )
            )
    return found


def host_addresses(
    batch: Batch, local_address: Callable[[Event], Any]
) -> list[tuple[str, str, int]]:
    """(address, host id, ts) a host showed as its own: the local end of accepted sockets."""
    found: dict[tuple[str, str], int] = {}
    for event in batch.events:
        if event.type in SERVER_SIDE_TYPES and event.host_id and event.res >= 0:
            address = remote_address(_safe(local_address, event))
            if address:
                found[(address, event.host_id)] = event.ts
    return [(address, host, ts) for (address, host), ts in found.items()]


def spread_window(
    signals: Sequence[tuple[str, int]], hosts: int, window_ns: int
) -> tuple[int, int, list[str]] | None:
    """The first window (first ts, last ts, hosts in order) in which signals (host, ts),
    sorted by ts, come from at least `hosts` distinct hosts; None when none does."""
    for start, (_, first_ts) in enumerate(signals):
        seen: list[str] = []
        for host, ts in signals[start:]:
            if ts - first_ts > window_ns:
                break
            if host not in seen:
                seen.append(host)
            if len(seen) >= hosts:
                return first_ts, ts, seen
    return None


def fleet_alert(spec: FleetCorrelation, fire: Fire, seq: int) -> Alert:
    """The alert a fire raises (agent `fleet`, seq the fire's own number)."""
    fields: dict[str, object] = {**fire.fields, "fleet.window_s": spec.window_ns / 1e9}
    text = FIELD_MARK.sub(lambda m: str(fields.get(m.group(1), "<NA>")), spec.output).strip()
    return new_alert(
        rule=spec.name,
        priority=spec.priority,
        text=text,
        ts=fire.last_ts,
        fields=fields,
        source="fleet",
        tags=spec.tags,
        host_id=fire.host_id,
        seq=seq,
    )


def _safe(get: Callable[[Event], Any], event: Event) -> Any:
    try:
        return get(event)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None
