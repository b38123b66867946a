"""Bounds on what one agent batch may hold, checked before and after decoding (pure).

A batch is refused (413) past `MAX_BATCH_RECORDS` records, counted from the msgpack array
headers before any record is decoded, so a small body of millions of tiny records costs
nothing. Values the store keeps in integer columns must fit a signed 64-bit integer and the
free-form parts (`Event.args`, `Alert.output_fields`) may nest at most `MAX_VALUE_DEPTH`
levels; a record past either is refused (422) naming where.
"""

from __future__ import annotations

import struct
from typing import Any

from stockade.model.alerts import Alert
from stockade.model.events import Event
from stockade.platform.errors import PlatformError
from stockade.platform.timestamps import parse_ns

MAX_BATCH_RECORDS = 10_000  # the agent sends 1,000 per batch
MAX_VALUE_DEPTH = 32
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class BatchLimitError(PlatformError):
    """A batch is past a bound; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def array_length(data: bytes, where: str) -> int:
    """The element count in a msgpack array header; BatchLimitError if `data` is no array."""
    if not data:
        raise BatchLimitError(422, f"{where} is missing")
    head = data[0]
    if 0x90 <= head <= 0x9F:
        return head & 0x0F
    if head == 0xDC and len(data) >= 3:
        return int(struct.unpack_from(">H", data, 1)[0])
    if head == 0xDD and len(data) >= 5:
        return int(struct.unpack_from(">I", data, 1)[0])
    raise BatchLimitError(422, f"batch does not match the Batch schema: {where} is not an array")


def check_record_count(counts: dict[str, int]) -> None:
    """Refuse (413) a batch holding more than MAX_BATCH_RECORDS records in all."""
    total = sum(counts.values())
    if total > MAX_BATCH_RECORDS:
        parts = ", ".join(f"{n} {name}" for name, n in counts.items())
        raise BatchLimitError(
            413, f"batch holds {total} records ({parts}); at most {MAX_BATCH_RECORDS} per batch"
        )


def _check_int(value: int, where: str) -> None:
    if not INT64_MIN <= value <= INT64_MAX:
        raise BatchLimitError(422, f"{where} = {value} does not fit a signed 64-bit integer")


def check_value(value: Any, where: str, depth: int = 0) -> None:
    """Refuse (422) integers outside int64 and nesting past MAX_VALUE_DEPTH in `value`."""
    if isinstance(value, bool | float | str | bytes) or value is None:
        return
    if isinstance(value, int):
        _check_int(value, where)
        return
    if depth >= MAX_VALUE_DEPTH:
        raise BatchLimitError(422, f"{where} nests deeper than {MAX_VALUE_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            check_value(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_value(item, f"{where}[{i}]", depth + 1)


_FLAT = (str, bool, float, bytes, type(None))  # values with nothing to check


def event_within_bounds(event: Event) -> bool:
    """True for the common event, plainly within bounds: no name or message built (every
    event of every batch passes here); False means `check_event` must look closer."""
    columns = (event.seq, event.ts, event.proc.pid, event.res)
    if max(columns) > INT64_MAX or min(columns) < INT64_MIN:
        return False
    for value in event.args.values() if event.args else ():
        if type(value) is int:
            if not INT64_MIN <= value <= INT64_MAX:
                return False
        elif type(value) not in _FLAT:
            return False
    return True


def check_event(event: Event, where: str) -> None:
    """The event's stored columns fit int64 and its args are within bounds."""
    _check_int(event.seq, f"{where}.seq")
    _check_int(event.ts, f"{where}.ts")
    _check_int(event.proc.pid, f"{where}.proc.pid")
    _check_int(event.res, f"{where}.res")
    if event.args:
        check_value(event.args, f"{where}.args")


def check_alert(alert: Alert, where: str) -> None:
    """The alert's stored columns fit int64 and its output fields are within bounds."""
    _check_int(alert.seq, f"{where}.seq")
    _check_int(alert.event_seq, f"{where}.event_seq")
    _check_int(alert.count, f"{where}.count")
    check_value(alert.output_fields, f"{where}.output_fields")
    try:
        ts = parse_ns(alert.time)
    except ValueError:
        return  # stored with its event's time instead
    _check_int(ts, f"{where}.time")
