"""Timestamps as the platform takes them: ns since the epoch, or RFC 3339 text."""

from __future__ import annotations

import datetime as dt
import re

_RFC3339 = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9})\d*)?"
    r"(?P<tz>[Zz]|[+-]\d{2}:\d{2})$"
)
_EPOCH = dt.datetime(1970, 1, 1)


def parse_ns(text: str) -> int:
    """Parse an integer of ns since the epoch or an RFC 3339 time; ValueError names the text."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"{text!r} is neither ns since the epoch nor an RFC 3339 time")
    tz = match["tz"].upper().replace("Z", "+00:00")
    try:
        base = dt.datetime.fromisoformat(match["base"].replace("t", "T") + tz)
    except ValueError as e:
        raise ValueError(f"{text!r} is not a valid RFC 3339 time: {e}") from e
    # by arithmetic, not timestamp(): an offset may carry year 1 or 9999 past datetime's range
    offset = base.utcoffset() or dt.timedelta()
    seconds = (base.replace(tzinfo=None) - _EPOCH - offset) // dt.timedelta(seconds=1)
    fraction = int((match["frac"] or "").ljust(9, "0"))
    return seconds * 1_000_000_000 + fraction


def format_ns(ns: int) -> str:
    """Format ns since the epoch as RFC 3339 UTC with nanoseconds (Falco's `time`)."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    base = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{fraction:09d}Z"
