"""Identical alerts within a window become one alert with a count (pure: clock injected).

Alerts are identical when they share the rule, container, executable and key fields (the
rule's output fields, less those naming one occurrence: times, pids, fd numbers). The
first alert of a kind goes out at once; repeats within its window are counted and leave
as one alert (the latest repeat) carrying the count when the window ends, or on flush.
Nothing is dropped: the counts of what leaves add up to the alerts offered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from stockade.model import Alert

DEFAULT_WINDOW_S = 30.0
MAX_OPEN_WINDOWS = 10_000
"""Kinds of alert counted at once; past it the oldest window closes early (memory bound)."""

# Output fields that differ between occurrences of one behaviour, left out of the key.
_OCCURRENCE_FIELDS = (
    "evt.time",
    "evt.rawtime",
    "evt.datetime",
    "evt.reltime",
    "evt.outputtime",
    "evt.num",
    "evt.latency",
    "evt.deltatime",
    "proc.pid",
    "proc.ppid",
    "proc.vpid",
    "proc.pvpid",
    "proc.apid",
    "proc.sid",
    "proc.pgid",
    "proc.vpgid",
    "proc.start_ts",
    "thread.tid",
    "thread.vtid",
    "fd.num",
)

AlertKey = tuple[str, str, str, tuple[tuple[str, str], ...]]


def alert_key(alert: Alert, executable: str) -> AlertKey:
    """What makes two alerts the same: rule, container, executable and key fields."""
    fields = tuple(
        sorted(
            (name, str(value))
            for name, value in alert.output_fields.items()
            if not name.startswith(_OCCURRENCE_FIELDS)
        )
    )
    return alert.rule, alert.container_id, executable, fields


@dataclass(slots=True)
class _Window:
    """One kind of alert: when its window ends, and the repeats seen in it so far."""

    ends: float
    repeats: int = 0
    latest: Alert | None = None


class AlertAggregator:
    """Counts repeats of an alert within `window_s` of its first occurrence."""

    def __init__(
        self,
        window_s: float = DEFAULT_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        max_open: int = MAX_OPEN_WINDOWS,
    ) -> None:
        if window_s < 0:
            raise ValueError(f"window_s must be >= 0, not {window_s}")
        self.window_s = window_s
        self.max_open = max_open
        self._clock = clock
        self._windows: dict[AlertKey, _Window] = {}

    def offer(self, alert: Alert, executable: str) -> list[Alert]:
        """The alerts to send now: `alert` when it is the first of its kind in a window
        (after the aggregate of that kind's ended window, if not yet collected), else none."""
        if self.window_s == 0:
            return [alert]
        now = self._clock()
        key = alert_key(alert, executable)
        window = self._windows.get(key)
        if window is not None and now < window.ends:
            window.repeats += 1
            window.latest = alert
            return []
        ended = [self._close(key)] if window is not None else []
        if len(self._windows) >= self.max_open:  # many kinds at once: close the oldest
            ended.append(self._close(next(iter(self._windows))))
        self._windows[key] = _Window(ends=now + self.window_s)
        return [a for a in ended if a is not None] + [alert]

    def due(self) -> list[Alert]:
        """The aggregated alerts whose windows have ended (each carrying its count)."""
        now = self._clock()
        ended = [key for key, window in self._windows.items() if now >= window.ends]
        return [alert for key in ended if (alert := self._close(key)) is not None]

    def flush(self) -> list[Alert]:
        """Every window's repeats now (on shutdown), so none is lost."""
        return [alert for key in list(self._windows) if (alert := self._close(key)) is not None]

    def _close(self, key: AlertKey) -> Alert | None:
        window = self._windows.pop(key)
        if window.latest is None:
            return None
        window.latest.count = window.repeats
        return window.latest
