"""Falco's output conventions: timestamps, common output fields, and the Alert shape."""

from __future__ import annotations

import time
import uuid

from stockade.model import Alert, Event, Priority


def rfc3339_ns(ts: int) -> str:
    """ns since the epoch -> '2024-01-02T03:04:05.123456789Z' (Falco's `time`)."""
    seconds, ns = divmod(ts, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ns:09d}Z"


def clock_ns(ts: int) -> str:
    """The 'HH:MM:SS.nnnnnnnnn' prefix Falco puts before each output line."""
    seconds, ns = divmod(ts, 1_000_000_000)
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) + f".{ns:09d}"


def common_fields(event: Event) -> dict[str, object]:
    """The process, user and container fields most Falco outputs carry."""
    proc, container = event.proc, event.container
    parent = event.ancestors[0] if event.ancestors else None
    return {
        "evt.type": event.type,
        "evt.time": event.ts,
        "proc.name": proc.name,
        "proc.pid": proc.pid,
        "proc.exepath": proc.exepath,
        "proc.cmdline": proc.cmdline,
        "proc.pname": parent.name if parent else None,
        "proc.ppid": proc.ppid,
        "proc.tty": proc.tty,
        "user.name": proc.user or None,
        "user.uid": proc.uid,
        "user.loginuid": proc.loginuid,
        "container.id": container.short_id,
        "container.full_id": container.id,
        "container.name": container.name,
        "container.image.repository": container.image_repository,
        "container.image.tag": container.image_tag,
        "container.image.digest": container.image_digest,
    }


def container_suffix(event: Event) -> str:
    """The container part Falco appends to outputs (`%container.info`-like)."""
    c = event.container
    return (
        f" container_id={c.short_id} container_name={c.name or '<NA>'}"
        f" container_image_repository={c.image_repository or '<NA>'}"
        f" container_image_tag={c.image_tag or '<NA>'}"
    )


def make_alert(
    event: Event,
    rule: str,
    priority: Priority,
    message: str,
    fields: dict[str, object],
    tags: list[str],
) -> Alert:
    """An Alert in Falco's JSON shape with Stockade's origin fields from the event."""
    return Alert(
        uuid=str(uuid.uuid4()),
        output=f"{clock_ns(event.ts)}: {priority.falco_name} {message}",
        priority=priority.falco_name,
        rule=rule,
        time=rfc3339_ns(event.ts),
        output_fields=fields,
        source="syscall",
        tags=tags,
        host_id=event.host_id,
        container_id=event.container.id,
        event_seq=event.seq,
    )
