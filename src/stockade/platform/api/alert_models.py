"""The alert console's JSON as typed models: what the OpenAPI document says alerts look like."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from stockade.platform.store.alert_console import AlertSort, AlertStatus


class AlertProcess(BaseModel):
    """The process an alert was raised on."""

    name: str
    pid: int
    cmdline: str


class AlertContainer(BaseModel):
    """The container an alert came from ("host" for activity outside containers)."""

    id: str
    short_id: str
    name: str
    image: str
    image_digest: str


class AlertFields(BaseModel):
    """What every view of a stored alert shows: Falco's JSON output and its origin."""

    uuid: str
    output: str
    priority: str
    rule: str
    time: str = Field(description="RFC 3339 with nanoseconds, UTC")
    output_fields: dict[str, Any]
    source: str
    tags: list[str]
    hostname: str
    host_id: str
    container_id: str
    event_seq: int
    seq: int
    count: int = Field(description="identical alerts this one stands for (aggregated)")
    agent_id: str
    process: AlertProcess
    container: AlertContainer


class AlertItem(AlertFields):
    """A stored alert: Falco's JSON output, its origin, and its triage state."""

    id: int = Field(description="the platform's id of the stored alert")
    status: AlertStatus
    status_by: str = Field(description="who set the status; empty while new")
    status_at: str | None = Field(description="when the status was set (RFC 3339)")
    incident_id: int | None = Field(description="the incident grouping this alert, if any")


class AlertDetail(AlertItem):
    """One alert with the JSON the agent sent, as stored."""

    raw: dict[str, Any]


class AlertPage(BaseModel):
    """One page of alerts; ask for the next with `cursor=next_cursor` and the same filters."""

    items: list[AlertItem]
    next_cursor: str | None = Field(description="null on the last page")
    sort: AlertSort
    order: str = Field(description="asc or desc")
    limit: int


class Tally(BaseModel):
    """How many alerts (rows) and occurrences (with aggregated repeats) a group has."""

    key: str
    label: str
    alerts: int
    occurrences: int


class SeriesPoint(BaseModel):
    """Alerts of one priority in one time bucket."""

    start: str = Field(description="the bucket's start (RFC 3339)")
    priority: str
    alerts: int


class AlertStats(BaseModel):
    """The dashboard's figures over a time window."""

    since: str
    until: str
    bucket_seconds: float
    series: list[SeriesPoint]
    top_rules: list[Tally]
    top_containers: list[Tally]
    top_images: list[Tally]
    by_status: list[Tally]
