"""When a watched file may be checked (and alerted) again (pure).

A file's first change is checked within the coalescing window (0.5 s). A file that keeps
changing is a hot file (a log, a cache someone placed under /etc): each alert while it is
hot doubles its wait, up to `max_s`, so it raises at most one alert per `max_s`, each with
its latest state and writer; once it rests for twice its wait it is cold again. Nothing is
lost: a change waits, it is never dropped.
"""

from __future__ import annotations

from collections.abc import Hashable

FIRST_S = 0.5
MAX_S = 8.0


class AlertPacer:
    """Per file: when it may be checked next, from when it last alerted and its wait."""

    def __init__(self, first_s: float = FIRST_S, max_s: float = MAX_S) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self._last: dict[Hashable, tuple[float, float]] = {}  # key -> (alerted at, wait)

    def due(self, key: Hashable, now: float) -> bool:
        """True when the file may be checked now."""
        last = self._last.get(key)
        return last is None or now >= last[0] + last[1]

    def alerted(self, key: Hashable, now: float) -> None:
        """Record an alert: a file alerting again soon after its last waits longer."""
        last = self._last.get(key)
        hot = last is not None and now - last[0] < 2 * last[1]
        wait = min(2 * last[1], self.max_s) if hot and last is not None else self.first_s
        self._last[key] = (now, wait)
        if len(self._last) > 10_000:
            self.forget_cold(now)

    def forget_cold(self, now: float) -> None:
        """Drop the files that rested long enough to be cold again."""
        self._last = {k: v for k, v in self._last.items() if now - v[0] < 2 * v[1]}
