"""evt.* fields relative to other events (evt.reltime*, evt.deltatime*, evt.around) and
the plugin and async fields, which syscall events never have.

Falco counts relative times from the first event of the capture and deltas from the
previous event; here the "capture" is what this process judged: the first and previous
events any of these fields saw (one clock shared by all rules).
"""

from __future__ import annotations

from typing import Any

from stockade.model import Event
from stockade.rules.fields.base import ArgKind, Extractor, FieldDef, FieldTable, FieldType, simple

_S = 1_000_000_000


class EventClock:
    """The first and the previous event time seen, for relative and delta times."""

    def __init__(self) -> None:
        self.first = 0
        self._last = 0
        self._current = 0
        self._current_ts = 0

    def since_start(self, e: Event) -> int:
        """ns since the first event seen."""
        if not self.first:
            self.first = e.ts
        return max(e.ts - self.first, 0)

    def delta(self, e: Event) -> int:
        """ns since the event seen before `e` (0 for the first)."""
        if e.seq != self._current or e.ts != self._current_ts:  # a new event
            self._last = self._current_ts or e.ts
            self._current, self._current_ts = e.seq, e.ts
        return max(e.ts - self._last, 0)


CLOCK = EventClock()
"""The clock all rules share."""


class Around:
    """evt.around[T]'s value: equal to D when the event is within D ms of T (Falco's only
    operator for this field is '=')."""

    __slots__ = ("center", "ts")

    def __init__(self, ts: int, center: int) -> None:
        self.ts, self.center = ts, center

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, int):
            return NotImplemented
        return abs(self.ts - self.center) <= other * 1_000_000

    def __hash__(self) -> int:
        return hash(self.ts)

    def __str__(self) -> str:
        return str(self.ts)


def _around(arg: str | None) -> Extractor:
    center = int(arg or 0)
    return lambda e: Around(e.ts, center)


def _split(fn: Any, part: str) -> Extractor:
    if part == "s":
        return lambda e: fn(e) // _S
    if part == "ns":
        return lambda e: fn(e) % _S
    return fn  # type: ignore[no-any-return]


def register(t: FieldTable) -> None:
    """Add the relative-time, plugin and async evt.* fields to `t`."""
    R, S = FieldType.RELTIME, FieldType.STRING
    for suffix, what in (("", "ns"), (".s", "whole seconds"), (".ns", "ns part")):
        part = suffix.lstrip(".")
        simple(t, f"evt.reltime{suffix}", R, f"since the first event, {what}",
               _split(CLOCK.since_start, part))  # fmt: skip
        simple(t, f"evt.deltatime{suffix}", R, f"since the previous event, {what}",
               _split(CLOCK.delta, part))  # fmt: skip
    t.add(
        FieldDef(
            "evt.around",
            FieldType.UINT64,
            "evt.around[T]=D: within D ms of T (ns since the epoch)",
            _around,
            ArgKind.INDEX,
        )
    )
    simple(t, "evt.pluginname", S, "plugin of a plugin event (never: syscall)", lambda _e: None)
    simple(t, "evt.plugininfo", S, "plugin event summary (never: syscall)", lambda _e: None)
    simple(t, "evt.asynctype", S, "type of an async event (Stockade has none)", lambda _e: None)
