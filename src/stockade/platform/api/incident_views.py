"""How incidents look in the user API: typed response models and pure builders."""

from __future__ import annotations

from typing import Any

import msgspec
from pydantic import BaseModel, Field

from stockade.detect.storyline import Step, Storyline, StoryNode
from stockade.model.alerts import Priority
from stockade.model.entities import HOST_CONTAINER_ID
from stockade.model.incidents import IncidentStatus
from stockade.platform.api.alert_models import AlertFields
from stockade.platform.api.views import alert_view
from stockade.platform.services.incidents import IncidentDetail
from stockade.platform.store.incidents import IncidentNote, IncidentRecord
from stockade.platform.timestamps import format_ns, parse_ns


class IncidentOrigin(BaseModel):
    """Where an incident happened: a container (or "host") on a host."""

    host_id: str
    hostname: str
    container_id: str
    container_short_id: str
    container_name: str
    image: str


class IncidentSummary(BaseModel):
    """An incident as listed: what, how bad, where, who works it, when."""

    id: int
    title: str = Field(description="the rule of its first alert")
    severity: str = Field(description="the most severe alert's priority (Falco's spelling)")
    status: IncidentStatus
    assignee: str = Field(description='the user working it; "" while unassigned')
    origin: IncidentOrigin
    alert_count: int
    first_seen: str
    last_seen: str
    created_at: str
    updated_at: str


class IncidentPage(BaseModel):
    """One page of incidents; pass `next_cursor` as `cursor` for the next (null: the last)."""

    items: list[IncidentSummary]
    next_cursor: str | None


class IncidentAlert(AlertFields):
    """One of an incident's alerts: Falco's JSON output and its origin."""

    incident_id: int | None


class TimelineEntry(BaseModel):
    """One moment of an incident: an alert, a status or assignee change, a note, or the
    platform's own entries (another incident merged in; retention removed its alerts)."""

    time: str
    kind: str = Field(description="alert | status | assignee | note | merge | retention")
    text: str
    username: str = Field(description='who made a change or note; "" for an alert')
    alert_uuid: str = Field(description='the alert of an "alert" entry; "" otherwise')
    priority: str = Field(description='the alert\'s priority; "" otherwise')


class StoryStep(BaseModel):
    """One thing a process did: exec, connect, write, or an alert it raised."""

    time: str
    kind: str = Field(description="exec | connect | write | alert")
    summary: str
    agent_id: str
    seq: int = Field(description="the stored event's sequence (0 for an alert)")
    event: dict[str, Any] | None = Field(description="the stored event, as /events shows it")


class StoryProcess(BaseModel):
    """One process of the storyline tree."""

    id: str = Field(description="pid:start_ns")
    parent: str | None = Field(description="the parent's id; null at a top")
    pid: int
    vpid: int
    name: str
    exepath: str
    cmdline: str
    offending: bool = Field(description="an alert of the incident came from it")
    rules: list[str]
    steps: list[StoryStep]
    steps_left_out: int


class StorylineView(BaseModel):
    """The process tree from the container's entrypoint (or the host's oldest known
    ancestor) down to the offending processes; processes are listed parents first."""

    roots: list[str]
    processes: list[StoryProcess]


class IncidentDetailView(IncidentSummary):
    """An incident with its alerts, its timeline in time order and its storyline."""

    alerts: list[IncidentAlert] = Field(description="its alerts, oldest first")
    timeline: list[TimelineEntry]
    storyline: StorylineView


def summary_view(record: IncidentRecord) -> dict[str, Any]:
    """The listed form of an incident."""
    container = record.container_id
    return {
        "id": record.id,
        "title": record.title,
        "severity": _severity(record.severity),
        "status": record.status.value,
        "assignee": record.assignee,
        "origin": {
            "host_id": record.host_id,
            "hostname": record.hostname,
            "container_id": container,
            "container_short_id": container if container == HOST_CONTAINER_ID else container[:12],
            "container_name": record.container_name,
            "image": record.image,
        },
        "alert_count": record.alert_count,
        "first_seen": format_ns(record.first_ts),
        "last_seen": format_ns(record.last_ts),
        "created_at": format_ns(record.created_at),
        "updated_at": format_ns(record.updated_at),
    }


def page_view(records: list[IncidentRecord], limit: int) -> dict[str, Any]:
    """A page of incidents with the cursor of the next (None when this one is the last)."""
    more = len(records) > limit
    shown = records[:limit]
    cursor = f"{shown[-1].last_ts}.{shown[-1].id}" if more and shown else None
    return {"items": [summary_view(r) for r in shown], "next_cursor": cursor}


def parse_cursor(text: str) -> tuple[int, int]:
    """(last_ts, id) from a cursor; ValueError when it is not one this API gave."""
    ts, _, ident = text.partition(".")
    if not ident.isdigit() or not ts.lstrip("-").isdigit():
        raise ValueError(f"{text!r} is not a cursor this API gave; pass next_cursor as it is")
    return int(ts), int(ident)


def detail_view(detail: IncidentDetail) -> dict[str, Any]:
    """An incident with its alerts, timeline and storyline."""
    body = summary_view(detail.incident)
    body["alerts"] = [alert_view(a) for a in detail.alerts]
    body["timeline"] = _timeline(detail)
    body["storyline"] = storyline_view(detail.storyline)
    return body


def _timeline(detail: IncidentDetail) -> list[dict[str, Any]]:
    entries: list[tuple[int, int, dict[str, Any]]] = []
    for i, stored in enumerate(detail.alerts):
        alert = stored.alert
        text = f"{alert.rule}: {alert.output}"
        entries.append((_ts(alert.time), i, _entry(alert.time, "alert", text, "", alert)))
    offset = len(entries)
    for i, note in enumerate(detail.notes):
        entry = _note_entry(note)
        entries.append((note.ts, offset + i, entry))
    return [e for _, _, e in sorted(entries, key=lambda t: (t[0], t[1]))]


def _note_entry(note: IncidentNote) -> dict[str, Any]:
    return _entry(format_ns(note.ts), note.kind, note.text, note.username, None)


def _entry(time: str, kind: str, text: str, username: str, alert: Any) -> dict[str, Any]:
    return {
        "time": time,
        "kind": kind,
        "text": text,
        "username": username,
        "alert_uuid": alert.uuid if alert is not None else "",
        "priority": alert.priority if alert is not None else "",
    }


def storyline_view(story: Storyline) -> dict[str, Any]:
    """The tree as a list of processes, parents first."""
    return {"roots": list(story.roots), "processes": [_process(n) for n in story.nodes]}


def _process(node: StoryNode) -> dict[str, Any]:
    return {
        "id": node.key,
        "parent": node.parent or None,
        "pid": node.pid,
        "vpid": node.vpid,
        "name": node.name,
        "exepath": node.exepath,
        "cmdline": node.cmdline,
        "offending": node.offending,
        "rules": list(node.rules),
        "steps": [_step(s) for s in node.steps],
        "steps_left_out": node.steps_left_out,
    }


def _step(step: Step) -> dict[str, Any]:
    event: dict[str, Any] | None = None
    if step.event is not None:
        event = msgspec.to_builtins(step.event)
        event["agent_id"] = step.agent_id
    return {
        "time": format_ns(step.ts),
        "kind": step.kind,
        "summary": step.summary,
        "agent_id": step.agent_id,
        "seq": step.seq,
        "event": event,
    }


def _severity(value: int) -> str:
    try:
        return Priority(value).falco_name
    except ValueError:
        return Priority.DEBUG.falco_name


def _ts(text: str) -> int:
    try:
        return parse_ns(text)
    except ValueError:
        return 0
