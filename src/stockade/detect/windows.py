"""Per-group state of correlation detectors: sliding-window counts, ordered sequences,
and a bounded table of groups. Pure: time is the events' own timestamps (ns)."""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

MAX_ENTRIES = 65_536
"""Events one group keeps in its window; past it the oldest go (a flood stays bounded)."""


class CountWindow:
    """Events of one group within a sliding window: how many, and how many distinct values."""

    __slots__ = ("_entries", "_values", "window_ns")

    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self._entries: deque[tuple[int, Hashable]] = deque()
        self._values: Counter[Hashable] = Counter()

    def add(self, ts: int, value: Hashable = None) -> None:
        """Count an event at `ts` (with the value counted distinctly, if any)."""
        self._entries.append((ts, value))
        self._values[value] += 1
        if len(self._entries) > MAX_ENTRIES:
            self._drop_oldest()
        self.expire(ts)

    def expire(self, now: int) -> None:
        """Forget what happened more than a window before `now`."""
        horizon = now - self.window_ns
        while self._entries and self._entries[0][0] < horizon:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        _, value = self._entries.popleft()
        left = self._values[value] - 1
        if left:
            self._values[value] = left
        else:
            del self._values[value]

    def count(self) -> int:
        """Events in the window."""
        return len(self._entries)

    def distinct(self) -> int:
        """Distinct values among the events in the window."""
        return len(self._values)

    def clear(self) -> None:
        """Start counting afresh (after an alert)."""
        self._entries.clear()
        self._values.clear()


class SequenceProgress:
    """How far one group got through steps A, B, C... in order, within a window.

    `reached[i]` is the latest start among partial matches that have met steps 0..i: a
    later start leaves more of the window for the steps still to come, so it is the only
    one worth keeping.
    """

    __slots__ = ("reached", "window_ns")

    def __init__(self, steps: int, window_ns: int) -> None:
        self.window_ns = window_ns
        self.reached: list[int | None] = [None] * steps

    def advance(self, ts: int, matched: list[int]) -> bool:
        """Record an event at `ts` meeting the steps `matched`; True when the last is met.

        Steps are taken last first, so one event advances a partial match by one step.
        """
        last = len(self.reached) - 1
        for step in sorted(matched, reverse=True):
            if step == 0:
                self.reached[0] = ts
                continue
            start = self.reached[step - 1]
            if start is None or ts - start > self.window_ns:
                continue
            current = self.reached[step]
            self.reached[step] = start if current is None else max(current, start)
        return last >= 0 and self.reached[last] is not None

    def clear(self) -> None:
        """Forget every partial match (after an alert)."""
        self.reached = [None] * len(self.reached)


S = TypeVar("S")


class GroupTable(Generic[S]):
    """State per group key, at most `limit` groups: the least recently seen one goes."""

    def __init__(self, make: Callable[[], S], limit: int = 10_000) -> None:
        self._make = make
        self._limit = limit
        self._groups: OrderedDict[Hashable, S] = OrderedDict()

    def get(self, key: Hashable) -> S:
        """The state of `key`, created when new (and marked as the most recently seen)."""
        state = self._groups.get(key)
        if state is None:
            state = self._groups[key] = self._make()
            if len(self._groups) > self._limit:
                self._groups.popitem(last=False)
        else:
            self._groups.move_to_end(key)
        return state

    def __len__(self) -> int:
        return len(self._groups)
