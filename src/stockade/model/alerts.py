"""Alerts in Falco's JSON output shape, plus Stockade's origin fields, and how one is made."""

from __future__ import annotations

import enum
import socket
import time
import uuid
from collections.abc import Iterable

import msgspec

THIS_HOST = socket.gethostname()  # the `hostname` of alerts raised on this machine


class Priority(enum.IntEnum):
    """Falco's priorities, ordered from most to least severe (lower value = more severe)."""

    EMERGENCY = 0
    ALERT = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFORMATIONAL = 6
    DEBUG = 7

    @classmethod
    def parse(cls, text: str) -> Priority:
        """Parse a priority name the way Falco does (case-insensitive, `info` allowed)."""
        key = text.strip().upper()
        if key == "INFO":
            key = "INFORMATIONAL"
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown priority {text!r}") from None

    @property
    def falco_name(self) -> str:
        """The capitalised spelling Falco prints ("Warning", "Informational")."""
        return self.name.capitalize()


class Alert(msgspec.Struct, kw_only=True):
    """One rule match. The first nine fields are Falco's JSON output, unchanged."""

    uuid: str
    output: str
    priority: str  # Falco spelling: "Warning", "Critical", ...
    rule: str
    time: str  # RFC 3339 with nanoseconds, UTC, as Falco prints it
    output_fields: dict[str, object]
    source: str = "syscall"
    tags: list[str] = msgspec.field(default_factory=list)
    hostname: str = ""
    # Stockade's origin fields (not in Falco's shape; tools that ignore them still work).
    host_id: str = ""
    container_id: str = ""
    event_seq: int = 0
    seq: int = 0  # the alert's own spool sequence, set by the agent
    count: int = 1  # identical alerts this one stands for (aggregated at the agent)


def falco_time(ts: int) -> str:
    """RFC 3339 with nanoseconds, UTC (Falco's `time`)."""
    secs, ns = divmod(ts, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{ns:09d}Z"


def clock_time(ts: int) -> str:
    """Time of day with nanoseconds, as Falco prefixes its outputs."""
    secs, ns = divmod(ts, 1_000_000_000)
    return time.strftime("%H:%M:%S", time.gmtime(secs)) + f".{ns:09d}"


def new_alert(
    *,
    rule: str,
    priority: Priority,
    text: str,
    ts: int,
    fields: dict[str, object],
    source: str,
    tags: Iterable[str] = (),
    hostname: str = "",
    host_id: str = "",
    container_id: str = "",
    event_seq: int = 0,
    seq: int = 0,
) -> Alert:
    """A new alert (fresh uuid) in Falco's shape: output `<time of day>: <Priority> <text>`."""
    return Alert(
        uuid=str(uuid.uuid4()),
        output=f"{clock_time(ts)}: {priority.falco_name} {text}",
        priority=priority.falco_name,
        rule=rule,
        time=falco_time(ts),
        output_fields=fields,
        source=source,
        tags=list(tags),
        hostname=hostname,
        host_id=host_id,
        container_id=container_id,
        event_seq=event_seq,
        seq=seq,
    )
