"""Saved hunts on a schedule: each enabled hunt runs every `interval_s` over the window
since its last run, and a run that returns rows raises one alert (rule `Hunt: NAME`)
holding the first rows, stored and handed to `on_alert` (the platform's outputs); the
run's outcome is kept with the hunt."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

import msgspec

from stockade.hunt.engine import HuntError, HuntQuery
from stockade.model.alerts import Alert, Priority, new_alert
from stockade.platform.store.hunting import Hunting
from stockade.platform.store.sqlite_hunts import SavedHunt

log = logging.getLogger(__name__)
TICK_S = 1.0
ROWS_IN_ALERT = 20
_json = msgspec.json.Encoder()
AlertSink = Callable[[Alert], None]


def due(hunt: SavedHunt, now: int) -> bool:
    """True when an enabled hunt's interval has passed since its last run."""
    return hunt.enabled and now - hunt.last_run_at >= hunt.interval_s * 10**9


def alert_for(hunt: SavedHunt, columns: list[str], rows: list[list[object]], at: int) -> Alert:
    """The alert a run with rows raises: the rule is the hunt's name, the rows its fields."""
    shown = [dict(zip(columns, row, strict=True)) for row in rows[:ROWS_IN_ALERT]]
    return new_alert(
        rule=f"Hunt: {hunt.name}",
        priority=Priority.parse(hunt.priority),
        text=f"saved hunt {hunt.name!r} found {len(rows)} rows",
        ts=at,
        fields={"hunt.id": hunt.id, "hunt.rows": json.dumps(shown, default=str)},
        source="hunt",
        tags=["hunt"],
    )


def run_once(hunting: Hunting, hunt: SavedHunt, now: int, on_alert: AlertSink | None = None) -> int:
    """Run one hunt over the window since its last run; the rows it found (0 on error)."""
    since = hunt.last_run_at or now - hunt.interval_s * 10**9
    hunts = hunting.saved
    try:
        result = hunting.source.run(HuntQuery(hunt.sql, since=since, until=now), now)
    except HuntError as e:
        hunts.record_run(hunt.id, now, 0, str(e))
        return 0
    if result.rows:
        alert = alert_for(hunt, result.columns, result.rows, now)
        priority = int(Priority.parse(hunt.priority))
        body = _json.encode(alert).decode()
        hunts.raise_alert(hunt, now, alert.output, priority, body, ",hunt,")
        if on_alert is not None:
            on_alert(alert)  # after it is stored, as the agents' alerts reach the outputs
    hunts.record_run(hunt.id, now, len(result.rows), "")
    return len(result.rows)


def run_due(hunting: Hunting, now: int, on_alert: AlertSink | None = None) -> int:
    """Run every hunt that is due; how many ran."""
    ran = 0
    for hunt in hunting.saved.list():
        if due(hunt, now) and hunting.saved.claim(hunt, now):
            run_once(hunting, hunt, now, on_alert)
            ran += 1
    return ran


async def run_schedule(hunting: Hunting, on_alert: AlertSink | None = None) -> None:
    """Run due hunts every TICK_S until cancelled (on a worker thread: the store blocks)."""
    while True:
        try:
            await asyncio.to_thread(run_due, hunting, time.time_ns(), on_alert)
        except Exception:  # a broken hunt or a busy store must not stop the schedule
            log.exception("saved hunts: a scheduled run failed")
        await asyncio.sleep(TICK_S)
