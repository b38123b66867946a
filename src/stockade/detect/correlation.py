"""Correlation detectors: counts and ordered sequences of events per group in a time window.

A correlation (declared in YAML beside the rules, see `correlation_load.py`) picks the
events that count with Falco conditions, groups them by Falco fields (the rules' field
table, so any field works: `container.id`, `fd.sip`, `user.name` ...), and raises one
alert when a group reaches its threshold (or meets every step of its sequence in order)
within the window; the group then stays quiet for the suppression window. Time is the
events' own timestamps, so a capture replayed later raises the same alerts.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stockade.detect.base import DETECTORS, DetectorConfig, DetectorConfigError
from stockade.detect.windows import CountWindow, GroupTable, SequenceProgress
from stockade.model import Alert, Event, Priority
from stockade.model.alerts import THIS_HOST, new_alert
from stockade.rules.output import OutputFormat

COUNT_MARK = "\x00corr.count\x00"  # where `%corr.count` stood in an output


@dataclass(frozen=True, slots=True)
class FieldGetter:
    """A Falco field by name and its extractor from the rules' field table."""

    name: str
    get: Callable[[Event], Any]


@dataclass(frozen=True, slots=True)
class Step:
    """Which events count (for a sequence: one step of it), as a compiled Falco condition."""

    condition: str
    predicate: Callable[[Event], bool]
    event_types: frozenset[str] | None  # None: every event type


@dataclass(frozen=True, slots=True)
class Correlation:
    """One compiled correlation: count (one step) or sequence (steps in order)."""

    name: str
    steps: tuple[Step, ...]
    group_by: tuple[FieldGetter, ...]
    window_ns: int
    threshold: int  # count: events (or distinct values) that fire it; sequence: 1
    suppress_ns: int
    priority: Priority
    output: OutputFormat
    sequence: bool = False
    distinct: FieldGetter | None = None
    tags: tuple[str, ...] = ()
    description: str = ""
    file: str = ""
    line: int = 0

    def event_types(self) -> frozenset[str] | None:
        """The event types any step can match; None when one step may match any."""
        found: set[str] = set()
        for step in self.steps:
            if step.event_types is None:
                return None
            found |= step.event_types
        return frozenset(found)

    def alert(self, event: Event, count: int, key: tuple[Hashable, ...]) -> Alert:
        """The alert for the event that completed a group's count or sequence."""
        text, fields = self.output.format(event)
        text = text.replace(COUNT_MARK, str(count))
        fields["corr.count"] = count
        fields["corr.window_s"] = self.window_ns / 1e9
        fields.update({g.name: value for g, value in zip(self.group_by, key, strict=True)})
        return new_alert(
            rule=self.name,
            priority=self.priority,
            text=text,
            ts=event.ts,
            fields=fields,
            source="syscall",
            tags=self.tags,
            hostname=THIS_HOST,
            host_id=event.host_id,
            container_id=event.container.id,
            event_seq=event.seq,
        )


@dataclass(slots=True)
class _Group:
    state: CountWindow | SequenceProgress
    quiet_until: int = -1


@dataclass(slots=True)
class _Tracker:
    """One correlation and the state of its groups."""

    spec: Correlation
    groups: GroupTable[_Group] = field(init=False)

    def __post_init__(self) -> None:
        spec = self.spec
        if spec.sequence:
            self.groups = GroupTable(
                lambda: _Group(SequenceProgress(len(spec.steps), spec.window_ns))
            )
        else:
            self.groups = GroupTable(lambda: _Group(CountWindow(spec.window_ns)))

    def inspect(self, event: Event) -> Alert | None:
        matched = [i for i, step in enumerate(self.spec.steps) if _meets(step, event)]
        if not matched:
            return None
        key = tuple(_value(g, event) for g in self.spec.group_by)
        if None in key:
            return None  # a group field not available on this event: it belongs to no group
        group = self.groups.get(key)
        if event.ts < group.quiet_until:
            return None
        state = group.state
        if isinstance(state, SequenceProgress):
            if not state.advance(event.ts, matched):
                return None
            count = len(self.spec.steps)
        else:
            distinct = self.spec.distinct
            state.add(event.ts, _value(distinct, event) if distinct else None)
            count = state.distinct() if distinct else state.count()
            if count < self.spec.threshold:
                return None
        state.clear()
        group.quiet_until = event.ts + self.spec.suppress_ns
        return self.spec.alert(event, count, key)


def _meets(step: Step, event: Event) -> bool:
    if step.event_types is not None and event.type not in step.event_types:
        return False
    return step.predicate(event)


def _value(getter: FieldGetter, event: Event) -> Hashable:
    try:
        value = getter.get(event)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None
    return tuple(value) if isinstance(value, list) else value


class CorrelationDetector:
    """Runs every correlation on each event; alerts when a group completes one."""

    def __init__(self, correlations: Sequence[Correlation]) -> None:
        self.correlations = tuple(correlations)
        self._trackers = [_Tracker(c) for c in self.correlations]

    @classmethod
    def from_config(cls, config: DetectorConfig) -> CorrelationDetector:
        """A detector over the configured correlation files (refused when one has errors)."""
        from stockade.detect.correlation_load import correlation_paths, load_correlations

        loaded = load_correlations(correlation_paths(config))
        if loaded.errors:
            first = loaded.errors[0]
            raise DetectorConfigError(
                f"{len(loaded.errors)} error(s) in the correlation files; first: {first}"
            )
        return cls(loaded.correlations)

    def inspect(self, event: Event) -> list[Alert]:
        """Alerts of the correlations this event completes."""
        alerts = []
        for tracker in self._trackers:
            alert = tracker.inspect(event)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def event_types(self) -> frozenset[str] | None:
        """The event types the correlations' conditions name."""
        needed: set[str] = set()
        for correlation in self.correlations:
            types = correlation.event_types()
            if types is None:
                return None
            needed |= types
        return frozenset(needed)


DETECTORS.register("correlation", CorrelationDetector.from_config)
