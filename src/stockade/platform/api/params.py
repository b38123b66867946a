"""Query parameters the user API's listings share: time bounds, limits, priorities."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Query

from stockade.model.alerts import Priority
from stockade.platform.api.http_errors import hinted_pattern, names_pattern
from stockade.platform.timestamps import parse_ns

MAX_LIMIT = 10_000
INT64_MAX = 2**63 - 1


def time_ns(name: str, value: str | None) -> int | None:
    """A time parameter in ns since the epoch (422 naming it when it is not a time)."""
    if value is None:
        return None
    try:
        ns = parse_ns(value)
    except ValueError as e:
        raise HTTPException(422, f"{name}: {e}") from e
    return max(min(ns, INT64_MAX), -INT64_MAX - 1)  # past the store's range means "ever"


def min_priority(value: str | None) -> int | None:
    """The Priority value of a min_priority parameter (422 when it names none)."""
    try:
        return int(Priority.parse(value)) if value else None
    except ValueError as e:
        raise HTTPException(422, f"min_priority: {e}") from e


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="at most this many, newest first")]
PRIORITY_PATTERN = names_pattern([p.name for p in Priority] + ["info"])
_YEAR = r"([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = r"([0-9]{2}(0[48]|[2468][048]|[13579][26])|([2468][048]|[13579][26]|0[48])00)"
_DATE = (  # a real calendar date, as datetime takes it
    f"({_YEAR}-(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|{_YEAR}-(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    f"|{_YEAR}-02-(0[1-9]|1[0-9]|2[0-8])|{_LEAP_YEAR}-02-29)"
)
_TIME_PATTERN = hinted_pattern(  # what parse_ns takes: ns since the epoch or RFC 3339
    rf"^(-?[0-9]+|{_DATE}[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))$",
    "send ns since the epoch or an RFC 3339 time such as 2026-01-31T12:00:00Z",
)
TimeParam = Annotated[
    str | None, Query(description="ns since the epoch or RFC 3339", pattern=_TIME_PATTERN)
]
