"""How the alert console's records look in JSON, and its opaque page cursors (pure)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from stockade.model.alerts import Priority
from stockade.platform.api.views import alert_view
from stockade.platform.errors import PlatformError
from stockade.platform.store.alert_console import (
    AlertKey,
    AlertSort,
    AlertStats,
    ConsoleAlert,
    Tally,
)
from stockade.platform.timestamps import format_ns

DEFAULT_ORDER = {  # each sort's natural order: newest, most severe, A to Z
    AlertSort.TIME: "desc",
    AlertSort.PRIORITY: "desc",
    AlertSort.RULE: "asc",
    AlertSort.HOST: "asc",
    AlertSort.CONTAINER: "asc",
}
_FLIPPED = {"asc": "desc", "desc": "asc"}


class CursorError(PlatformError, ValueError):
    """A cursor that this listing did not hand out."""


def console_alert_view(found: ConsoleAlert) -> dict[str, Any]:
    """An alert as the console lists it (`AlertItem`)."""
    body = alert_view(found.stored)
    triage = found.triage
    body["id"] = triage.id
    body["status"] = str(triage.status)
    body["status_by"] = triage.status_by
    body["status_at"] = format_ns(triage.status_at) if triage.status_at is not None else None
    return body


def alert_detail_view(found: ConsoleAlert) -> dict[str, Any]:
    """One alert with the JSON the agent sent (`AlertDetail`)."""
    body = console_alert_view(found)
    body["raw"] = json.loads(found.raw)
    return body


def encode_cursor(sort: AlertSort, reverse: bool, key: AlertKey) -> str:
    """An opaque cursor naming where a page ended and the order it was read in."""
    text = json.dumps([str(sort), int(reverse), key.value, key.ts, key.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: AlertSort, reverse: bool) -> AlertKey:
    """The key in a cursor; CursorError unless it was made for this sort and order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as e:
        raise CursorError("not a cursor this listing handed out; start again without it") from e
    if not _well_formed(value):
        raise CursorError("not a cursor this listing handed out; start again without it")
    if value[0] != str(sort) or bool(value[1]) != reverse:
        natural = DEFAULT_ORDER[AlertSort(value[0])]
        raise CursorError(
            f"made for sort={value[0]} order={_FLIPPED[natural] if value[1] else natural}; "
            "ask with that order or start again without the cursor"
        )
    return AlertKey(value=value[2], ts=value[3], id=value[4])


def _well_formed(value: object) -> bool:
    if not isinstance(value, list) or len(value) != 5:
        return False
    sort, reverse, key, ts, row = value
    ints = all(type(v) is int and -(2**63) <= v < 2**63 for v in (ts, row))
    return (
        sort in set(AlertSort)
        and reverse in (0, 1)
        and (isinstance(key, str) or (type(key) is int and -(2**63) <= key < 2**63))
        and ints
    )


def stats_view(stats: AlertStats) -> dict[str, Any]:
    """The dashboard's figures (`AlertStats`)."""
    return {
        "since": format_ns(stats.since),
        "until": format_ns(stats.until),
        "bucket_seconds": stats.bucket_ns / 1e9,
        "series": [
            {
                "start": format_ns(stats.since + bucket * stats.bucket_ns),
                "priority": _priority_name(priority),
                "alerts": alerts,
            }
            for bucket, priority, alerts in stats.series
        ],
        "top_rules": [_tally(t) for t in stats.top_rules],
        "top_containers": [_tally(t) for t in stats.top_containers],
        "top_images": [_tally(t) for t in stats.top_images],
        "by_status": [_tally(t) for t in stats.by_status],
    }


def _priority_name(value: int) -> str:
    try:
        return Priority(value).falco_name
    except ValueError:
        return Priority.DEBUG.falco_name


def _tally(t: Tally) -> dict[str, Any]:
    return {"key": t.key, "label": t.label, "alerts": t.alerts, "occurrences": t.occurrences}
